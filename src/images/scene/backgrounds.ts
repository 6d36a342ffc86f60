import { addFbm, addValueNoise, fastSin } from './noise.js';
import { assertRgbImage, createImage, type RgbImage } from './rgb-image.js';
import type { Rng } from './rng.js';

type Rgb = [number, number, number];

/**
 * Surfaces fruit is photographed on, in sRGB: mostly muted (tables, worktops, cloth, crates), a few saturated
 * (plastic trays, painted tables, market cloths). The colours matter more than the patterns to a pooled CNN
 * feature, so the palette is deliberately wide.
 */
const WOODS: Rgb[] = [
  [196, 154, 108],
  [222, 184, 135],
  [170, 120, 75],
  [120, 80, 50],
  [85, 55, 35],
  [150, 100, 60],
  [160, 150, 135],
  [205, 175, 140],
];
const STONES: Rgb[] = [
  [230, 228, 222],
  [200, 198, 192],
  [128, 126, 122],
  [90, 90, 92],
  [45, 45, 48],
  [205, 190, 165],
  [175, 160, 140],
  [150, 140, 130],
];
const CLOTHS: Rgb[] = [
  [215, 205, 185],
  [60, 80, 120],
  [170, 40, 40],
  [70, 110, 70],
  [235, 235, 230],
  [120, 120, 125],
  [220, 190, 90],
  [40, 50, 80],
  [190, 170, 200],
  [200, 120, 100],
];
const MUTED: Rgb[] = [
  [200, 195, 185],
  [170, 175, 180],
  [110, 115, 120],
  [60, 62, 66],
  [30, 30, 32],
  [185, 165, 140],
  [140, 150, 130],
  [120, 140, 160],
  [210, 200, 170],
  [160, 120, 100],
];
// Saturated, but as surfaces photograph (a plastic tray, a painted table), not as pure screen colours.
const SATURATED: Rgb[] = [
  [50, 105, 180],
  [210, 120, 50],
  [85, 145, 70],
  [185, 60, 85],
  [225, 190, 70],
  [40, 135, 135],
  [125, 70, 145],
  [195, 55, 50],
];

export const BACKGROUND_KINDS = ['white', 'plain', 'linear-gradient', 'radial-gradient', 'noise', 'wood', 'cloth', 'tiles', 'stone'] as const;
export type BackgroundKind = (typeof BACKGROUND_KINDS)[number];
// Wood, cloth and stone are what kitchen and market photos show most; white keeps the studio case covered.
const WEIGHTS: Record<BackgroundKind, number> = {
  white: 0.1,
  plain: 0.12,
  'linear-gradient': 0.07,
  'radial-gradient': 0.06,
  noise: 0.1,
  wood: 0.17,
  cloth: 0.15,
  tiles: 0.1,
  stone: 0.13,
};

function jitter(rng: Rng, c: Rgb, amount: number): Rgb {
  const k = 1 + rng.range(-0.12, 0.12);
  return [c[0] * k + rng.range(-amount, amount), c[1] * k + rng.range(-amount, amount), c[2] * k + rng.range(-amount, amount)];
}

function scaled(c: Rgb, k: number): Rgb {
  return [c[0] * k, c[1] * k, c[2] * k];
}

function surfaceColour(rng: Rng, palette: Rgb[], saturatedShare: number): Rgb {
  return jitter(rng, rng.chance(saturatedShare) ? rng.pick(SATURATED) : rng.pick(palette), 10);
}

/**
 * A procedural background, deterministic from the rng: `kind` names the generator (and variant) for the
 * augmentation parameters. Each generator fills a mix field t (colour a → colour b) and a shade field
 * (multiplicative); a common last pass adds a light gradient and vignetting and writes the bytes.
 */
export function proceduralBackground(rng: Rng, width: number, height: number): { image: RgbImage; kind: string } {
  if (!(width > 0 && height > 0)) throw new RangeError(`background size must be positive, got ${width}×${height}`);
  // Generated at half resolution and upsampled: a quarter of the work, and surfaces a phone photographs from a
  // hand's length are a little soft at 224 pixels anyway. Generators scale their pixel sizes by g.k.
  const lw = Math.ceil(width / 2),
    lh = Math.ceil(height / 2);
  const n = lw * lh;
  const t = new Float32Array(n);
  const shade = new Float32Array(n).fill(1);
  let roll = rng.next();
  let kind: BackgroundKind = 'plain';
  for (const k of BACKGROUND_KINDS) {
    roll -= WEIGHTS[k];
    if (roll < 0) {
      kind = k;
      break;
    }
  }
  const g: Gen = { rng, width: lw, height: lh, k: lw / width, t, shade };
  const { a, b, variant } = GENERATORS[kind](g);
  // Light falling off across the surface and lens vignetting: every photo has some, studio references none.
  const strength = kind === 'white' ? 0.5 : 1;
  const angle = rng.range(0, 2 * Math.PI);
  const gradient = rng.range(0, 0.35) * strength;
  const vignette = rng.range(0, 0.5) * strength;
  const gx = (Math.cos(angle) * gradient) / lw,
    gy = (Math.sin(angle) * gradient) / lh;
  const cx = lw / 2,
    cy = lh / 2;
  const r2 = vignette / (cx * cx + cy * cy);
  const low = new Float32Array(n * 3);
  const [ar, ag, ab] = a;
  const dr = b[0] - ar,
    dg = b[1] - ag,
    db = b[2] - ab;
  for (let y = 0, p = 0; y < lh; y++) {
    const dy = y - cy;
    for (let x = 0; x < lw; x++, p++) {
      const dx = x - cx;
      const m = t[p];
      const s = shade[p] * (1 + dx * gx + dy * gy) * (1 - (dx * dx + dy * dy) * r2);
      const i = p * 3;
      low[i] = (ar + m * dr) * s;
      low[i + 1] = (ag + m * dg) * s;
      low[i + 2] = (ab + m * db) * s;
    }
  }
  const image = createImage(width, height);
  upsampleInto(low, lw, lh, image);
  return { image, kind: variant ? `${kind}-${variant}` : kind };
}

/** Bilinear upsampling (half-pixel centres) of a float RGB image into the bytes of `out`. */
function upsampleInto(low: Float32Array, lw: number, lh: number, out: RgbImage): void {
  const { width, height } = out;
  const o = new Uint8ClampedArray(out.data.buffer, out.data.byteOffset, out.data.length);
  const xi = new Int32Array(width),
    xj = new Int32Array(width),
    xw = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const u = Math.min(Math.max((x + 0.5) * (lw / width) - 0.5, 0), lw - 1);
    xi[x] = Math.floor(u) * 3;
    xj[x] = Math.min(Math.floor(u) + 1, lw - 1) * 3;
    xw[x] = u - Math.floor(u);
  }
  const row = new Float32Array(lw * 3);
  for (let y = 0; y < height; y++) {
    const v = Math.min(Math.max((y + 0.5) * (lh / height) - 0.5, 0), lh - 1);
    const j = Math.floor(v),
      wy = v - j;
    const r0 = j * lw * 3,
      r1 = Math.min(j + 1, lh - 1) * lw * 3;
    for (let i = 0; i < lw * 3; i++) row[i] = low[r0 + i] + wy * (low[r1 + i] - low[r0 + i]);
    for (let x = 0, q = y * width * 3; x < width; x++, q += 3) {
      const a = xi[x],
        b = xj[x],
        w = xw[x];
      o[q] = row[a] + w * (row[b] - row[a]);
      o[q + 1] = row[a + 1] + w * (row[b + 1] - row[a + 1]);
      o[q + 2] = row[a + 2] + w * (row[b + 2] - row[a + 2]);
    }
  }
}

interface Gen {
  rng: Rng;
  /** Size of the fields (half the background's). */
  width: number;
  height: number;
  /** Field pixels per background pixel: generators multiply their sizes in background pixels by it. */
  k: number;
  t: Float32Array;
  shade: Float32Array;
}

type Generator = (g: Gen) => { a: Rgb; b: Rgb; variant?: string };

const GENERATORS: Record<BackgroundKind, Generator> = {
  white(g) {
    const v = g.rng.range(222, 252);
    const a: Rgb = jitter(g.rng, [v, v, v], 4);
    addValueNoise(g.shade, g.width, g.height, g.rng, g.width * 0.7, 0.03);
    return { a, b: a };
  },
  plain(g) {
    const a = surfaceColour(g.rng, MUTED, 0.15);
    addFbm(g.shade, g.width, g.height, g.rng, g.width * 0.5, 3, 0.06);
    return { a, b: a };
  },
  'linear-gradient'(g) {
    const a = surfaceColour(g.rng, MUTED, 0.25);
    const b = g.rng.chance(0.5) ? scaled(a, g.rng.range(0.45, 0.85)) : surfaceColour(g.rng, MUTED, 0.2);
    const angle = g.rng.range(0, 2 * Math.PI);
    const c = Math.cos(angle),
      s = Math.sin(angle);
    const half = 0.5 * (Math.abs(c) * g.width + Math.abs(s) * g.height);
    const { t, width: w, height: h } = g;
    for (let y = 0; y < h; y++) {
      for (let x = 0, p = y * w; x < w; x++, p++) t[p] = 0.5 + (0.5 * ((x - w / 2) * c + (y - h / 2) * s)) / half;
    }
    return { a, b };
  },
  'radial-gradient'(g) {
    const a = surfaceColour(g.rng, MUTED, 0.25);
    const b = scaled(a, g.rng.range(0.35, 0.8));
    const cx = g.rng.range(0.2, 0.8) * g.width,
      cy = g.rng.range(0.2, 0.8) * g.height;
    const r = g.rng.range(0.5, 1.2) * Math.max(g.width, g.height);
    const { t, width: w, height: h } = g;
    const r2 = 1 / (r * r);
    for (let y = 0; y < h; y++) {
      for (let x = 0, p = y * w; x < w; x++, p++) {
        const d2 = ((x - cx) * (x - cx) + (y - cy) * (y - cy)) * r2;
        t[p] = d2 > 1 ? 1 : d2;
      }
    }
    return { a, b };
  },
  noise(g) {
    const a = surfaceColour(g.rng, g.rng.chance(0.5) ? STONES : MUTED, 0.2);
    const b = g.rng.chance(0.6) ? scaled(a, g.rng.range(0.6, 0.9)) : surfaceColour(g.rng, MUTED, 0.1);
    g.t.fill(0.5);
    addFbm(g.t, g.width, g.height, g.rng, g.rng.range(20, 90) * g.k, 4, g.rng.range(0.5, 1), 0.55);
    return { a, b };
  },
  wood(g) {
    const base = jitter(g.rng, g.rng.pick(WOODS), 8);
    const dark = scaled(base, g.rng.range(0.55, 0.8));
    const { width: w, height: h, rng } = g;
    // Grain runs along u; rings are bands across v, distorted by stretched noise so they wander like real grain.
    const vertical = rng.chance(0.4);
    const angle = rng.range(-0.12, 0.12) + (vertical ? Math.PI / 2 : 0);
    const c = Math.cos(angle),
      s = Math.sin(angle);
    const warp = new Float32Array(w * h);
    addFbm(warp, w, h, rng, rng.range(40, 90) * g.k, 3, 1, 0.5, vertical ? 0.25 : 4, vertical ? 4 : 0.25);
    const fine = new Float32Array(w * h);
    addValueNoise(fine, w, h, rng, 2.5 * g.k, 1, vertical ? 0.3 : 8, vertical ? 8 : 0.3);
    const period = rng.range(5, 16) * g.k;
    const warpAmount = rng.range(8, 30) * g.k;
    const plank = rng.chance(0.6) ? rng.range(35, 110) * g.k : 0;
    const plankShade: number[] = [];
    for (let i = 0; i < 64; i++) plankShade.push(rng.range(0.88, 1.1));
    const phase = rng.range(0, 1000);
    const t = g.t,
      shade = g.shade;
    const invPeriod = 1 / period,
      invPlank = plank > 0 ? 1 / plank : 0;
    for (let y = 0; y < h; y++) {
      const vy = y * c + phase;
      for (let x = 0, p = y * w; x < w; x++, p++) {
        const v = vy - x * s;
        const ring = (v + warpAmount * warp[p]) * invPeriod;
        const f = ring - Math.floor(ring);
        // Sharp dark late-wood line, soft light early wood.
        t[p] = f * f * f * 0.8 + 0.2 * (0.5 + 0.5 * fine[p]);
        if (plank > 0) {
          const k = Math.floor(v * invPlank);
          const e = v - k * plank;
          shade[p] = plankShade[k & 63] * (e < 1 ? 0.55 : 1);
        }
      }
    }
    return { a: base, b: dark, variant: plank > 0 ? 'planks' : undefined };
  },
  cloth(g) {
    const { width: w, height: h, rng } = g;
    const a = surfaceColour(rng, CLOTHS, 0.15);
    const gingham = rng.chance(0.35);
    const b = gingham ? (rng.chance(0.5) ? jitter(rng, [235, 232, 225], 6) : scaled(a, 0.5)) : scaled(a, rng.range(0.7, 0.9));
    // Threads at least 2 field pixels wide, or the weave aliases into moiré.
    const thread = Math.max(2, rng.range(3, 7) * g.k);
    const stripe = rng.range(10, 34) * g.k;
    const angle = rng.range(-0.3, 0.3);
    const c = Math.cos(angle),
      s = Math.sin(angle);
    // Folds and wrinkles: low-frequency shading.
    addFbm(g.shade, w, h, rng, rng.range(40, 110) * g.k, 3, rng.range(0.08, 0.22));
    const slub = new Float32Array(w * h);
    addValueNoise(slub, w, h, rng, Math.max(1, 3 * g.k), 1, 6, 0.4);
    const k = (2 * Math.PI) / thread;
    const t = g.t,
      shade = g.shade;
    const invStripe = 1 / stripe;
    for (let y = 0; y < h; y++) {
      for (let x = 0, p = y * w; x < w; x++, p++) {
        const u = x * c + y * s,
          v = y * c - x * s;
        const weave = fastSin(u * k) * fastSin(v * k);
        shade[p] *= 1 + 0.07 * weave + 0.04 * slub[p];
        if (gingham) {
          const su = Math.floor(u * invStripe) & 1,
            sv = Math.floor(v * invStripe) & 1;
          t[p] = 1 - 0.5 * (su + sv);
        } else t[p] = 0.5 + 0.15 * weave;
      }
    }
    return { a, b, variant: gingham ? 'gingham' : undefined };
  },
  tiles(g) {
    const { width: w, height: h, rng } = g;
    const checks = rng.chance(0.35);
    const a = surfaceColour(rng, checks ? MUTED : STONES, 0.2);
    const b = checks ? (rng.chance(0.5) ? scaled(a, rng.range(0.3, 0.6)) : surfaceColour(rng, MUTED, 0.2)) : scaled(a, rng.range(0.55, 0.8));
    const size = rng.range(checks ? 14 : 24, checks ? 50 : 90) * g.k;
    const grout = checks ? 0 : Math.max(1, rng.range(1, 3.5) * g.k);
    const angle = rng.chance(0.5) ? rng.range(-0.15, 0.15) : rng.range(-0.8, 0.8);
    const c = Math.cos(angle),
      s = Math.sin(angle);
    const tileShade: number[] = [];
    for (let i = 0; i < 256; i++) tileShade.push(rng.range(0.93, 1.06));
    addFbm(g.shade, w, h, rng, 50 * g.k, 3, 0.05);
    const ox = rng.range(0, size),
      oy = rng.range(0, size);
    const t = g.t,
      shade = g.shade;
    const inv = 1 / size;
    for (let y = 0; y < h; y++) {
      for (let x = 0, p = y * w; x < w; x++, p++) {
        const u = x * c + y * s + ox,
          v = y * c - x * s + oy;
        const iu = Math.floor(u * inv),
          iv = Math.floor(v * inv);
        const eu = u - iu * size,
          ev = v - iv * size;
        t[p] = checks ? (iu + iv) & 1 : eu < grout || ev < grout ? 1 : 0;
        shade[p] *= tileShade[(iu * 7 + iv * 13) & 255];
      }
    }
    return { a, b, variant: checks ? 'checks' : undefined };
  },
  stone(g) {
    const { width: w, height: h, rng } = g;
    const a = jitter(rng, rng.pick(STONES), 8);
    const b = rng.chance(0.5) ? scaled(a, rng.range(0.5, 0.8)) : jitter(rng, rng.pick(STONES), 8);
    const marble = rng.chance(0.3);
    g.t.fill(0.5);
    addFbm(g.t, w, h, rng, rng.range(30, 80) * g.k, 4, 0.5, 0.55);
    if (marble) {
      const veins = new Float32Array(w * h);
      addFbm(veins, w, h, rng, 60 * g.k, 4, 1, 0.5);
      const f = rng.range(0.02, 0.06) / g.k,
        k = rng.range(4, 10);
      const angle = rng.range(0, Math.PI);
      const c = Math.cos(angle),
        s = Math.sin(angle);
      const t = g.t;
      for (let y = 0; y < h; y++) {
        for (let x = 0, p = y * w; x < w; x++, p++) {
          const vein = 1 - Math.abs(fastSin((x * c + y * s) * f + k * veins[p]));
          const v2 = vein * vein,
            v4 = v2 * v2,
            v8 = v4 * v4;
          t[p] = 0.15 * t[p] + v8 * v4;
        }
      }
    }
    // Speckles: a per-pixel hash, a few percent of pixels darker or lighter (granite, terrazzo, quartz worktops).
    const density = rng.range(0.02, 0.12);
    const light = density * rng.range(0.25, 0.6);
    const seed = rng.uint32();
    const shade = g.shade;
    const n = w * h;
    for (let p = 0; p < n; p++) {
      let x = Math.imul(p, 0x9e3779b1) ^ seed;
      x ^= x >>> 15;
      x = Math.imul(x, 0x2c1b3c6d);
      x ^= x >>> 12;
      const u = (x >>> 0) / 4294967296;
      if (u < density) shade[p] *= u < light ? 1.25 : 0.55;
    }
    return { a, b, variant: marble ? 'marble' : 'speckled' };
  },
};

export interface PhotoCrop {
  /** The crop in the photo's pixels, before flipping. */
  x: number;
  y: number;
  width: number;
  height: number;
  flipX: boolean;
}

/** A random crop (35–100 % of the largest crop of the target's aspect) of a decoded photo, scaled to width×height. */
export function backgroundFromPhoto(photo: RgbImage, rng: Rng, width: number, height: number): RgbImage {
  return photoCrop(photo, rng, width, height).image;
}

/** backgroundFromPhoto, also returning where the crop was (for the scene's parameters). */
export function photoCrop(photo: RgbImage, rng: Rng, width: number, height: number): { image: RgbImage; crop: PhotoCrop } {
  assertRgbImage(photo, 'backgroundFromPhoto');
  const aspect = width / height;
  const maxW = Math.min(photo.width, photo.height * aspect);
  const f = rng.range(0.35, 1);
  const cw = Math.max(1, maxW * f),
    ch = cw / aspect;
  const crop: PhotoCrop = {
    x: rng.range(0, photo.width - cw),
    y: rng.range(0, photo.height - ch),
    width: cw,
    height: ch,
    flipX: rng.chance(0.5),
  };
  return { image: resampleRegion(photo, crop, width, height), crop };
}

const pyramids = new WeakMap<RgbImage, RgbImage[]>();

/** The photo and its halvings down to about 224 pixels, cached per photo: crops then shrink by at most 2×. */
function pyramid(photo: RgbImage): RgbImage[] {
  let levels = pyramids.get(photo);
  if (levels) return levels;
  levels = [photo];
  for (let last = photo; Math.min(last.width, last.height) >= 448;) {
    const w = last.width >> 1,
      h = last.height >> 1;
    const half = createImage(w, h);
    const s = last.data,
      d = half.data,
      sw = last.width * 3;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const a = 2 * y * sw + 6 * x,
          o = (y * w + x) * 3;
        for (let c = 0; c < 3; c++) d[o + c] = (s[a + c] + s[a + 3 + c] + s[a + sw + c] + s[a + sw + 3 + c] + 2) >> 2;
      }
    }
    levels.push(half);
    last = half;
  }
  pyramids.set(photo, levels);
  return levels;
}

/** Bilinear from the pyramid level that needs at most 2× shrinking, with 2×2 supersampling when shrinking. */
function resampleRegion(photo: RgbImage, crop: PhotoCrop, width: number, height: number): RgbImage {
  const levels = pyramid(photo);
  let level = 0;
  while (level + 1 < levels.length && (crop.width * (levels[level + 1].width / photo.width)) / width >= 1) level++;
  const src = levels[level];
  const k = src.width / photo.width;
  const cx = crop.x * k,
    cy = crop.y * k;
  const sx = (crop.width * k) / width,
    sy = (crop.height * k) / height;
  const ns = Math.max(sx, sy) > 1.25 ? 2 : 1;
  const out = createImage(width, height);
  const { width: sw, height: sh, data } = src;
  const inv = 1 / (ns * ns);
  const o = new Uint8ClampedArray(out.data.buffer, out.data.byteOffset, out.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const xo = crop.flipX ? width - 1 - x : x;
      let r = 0,
        g = 0,
        b = 0;
      for (let j = 0; j < ns; j++) {
        const v = Math.min(Math.max(cy + (y + (j + 0.5) / ns) * sy - 0.5, 0), sh - 1);
        const y0 = Math.floor(v),
          y1 = Math.min(y0 + 1, sh - 1),
          wy = v - y0;
        for (let i = 0; i < ns; i++) {
          const u = Math.min(Math.max(cx + (xo + (i + 0.5) / ns) * sx - 0.5, 0), sw - 1);
          const x0 = Math.floor(u),
            x1 = Math.min(x0 + 1, sw - 1),
            wx = u - x0;
          const a = (y0 * sw + x0) * 3,
            bb = (y0 * sw + x1) * 3,
            c = (y1 * sw + x0) * 3,
            d = (y1 * sw + x1) * 3;
          const w00 = (1 - wx) * (1 - wy),
            w01 = wx * (1 - wy),
            w10 = (1 - wx) * wy,
            w11 = wx * wy;
          r += w00 * data[a] + w01 * data[bb] + w10 * data[c] + w11 * data[d];
          g += w00 * data[a + 1] + w01 * data[bb + 1] + w10 * data[c + 1] + w11 * data[d + 1];
          b += w00 * data[a + 2] + w01 * data[bb + 2] + w10 * data[c + 2] + w11 * data[d + 2];
        }
      }
      const q = (y * width + x) * 3;
      o[q] = r * inv;
      o[q + 1] = g * inv;
      o[q + 2] = b * inv;
    }
  }
  return out;
}
