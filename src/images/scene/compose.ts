import { cutout, type Cutout } from './mask.js';
import { pasteCutout, placementBounds, type Placement } from './paste.js';
import { blurRgb, gaussianBlur, toneNoiseQuantise, type Tone } from './photometric.js';
import { assertRgbImage, createImage, type RgbImage } from './rgb-image.js';
import type { Rng } from './rng.js';

export const SCENE_SIZE = 224;

export interface CopyParams extends Placement {
  /** Index into the `fruits` given to composeScene. */
  reference: number;
  /** Multiplies the fruit's colour: the fruit is lit a little differently from the surface. */
  gain: number;
  /** Fraction of the frame the copy's bounding box spans (its larger side, before rotation). */
  extent: number;
}

export interface ShadowParams {
  /** Offset of the shadow from the fruit, in scene pixels. */
  dx: number;
  dy: number;
  /** Softness (Gaussian sigma, scene pixels). */
  sigma: number;
  /** Darkening under a fully covered shadow, 0–1. */
  strength: number;
}

export interface OcclusionParams {
  /** Which copy it hides part of. */
  copy: number;
  /** 'background': the surface itself (the fruit partly under or behind it); 'texture': the surface from
   *  elsewhere, darker (a bowl's rim, a crate's slat, a foreground object); 'colour': a flat object (a leaf, a
   *  fingertip, another fruit). */
  fill: 'background' | 'texture' | 'colour';
  /** An ellipse, or a band (a long rotated rectangle) crossing one side of the fruit like a rim or a slat. */
  shape: 'ellipse' | 'band';
  /** Centre and half-sizes in scene pixels; for a band, rx is its half-length along `angle`, ry its half-width. */
  x: number;
  y: number;
  rx: number;
  ry: number;
  /** Radians; the band's direction (ellipses are axis-aligned, angle 0). */
  angle: number;
  colour: [number, number, number] | null;
  /** For 'texture': where the surface is taken from, as an offset in scene pixels. */
  offsetX: number;
  offsetY: number;
}

/** Every random choice a scene was made with: enough to regenerate it, and to study what the classifier saw. */
export interface SceneParams {
  size: number;
  /** Filled by whoever chose the background (composeScene only sees its pixels): kind, and the photo's name if any. */
  background: { kind: string; source: string | null };
  layout: 'single' | 'several' | 'pile' | 'crate';
  copies: CopyParams[];
  /** A copy placed partly outside the frame. */
  edgeCrop: boolean;
  shadow: ShadowParams | null;
  occlusion: OcclusionParams | null;
  tone: Tone;
  /** Gaussian sigma in scene pixels; 0 = none. */
  blurSigma: number;
  /** Standard deviation of the sensor noise, on the 0–255 scale. */
  noiseSigma: number;
  /** The seed of the per-pixel noise generator. */
  noiseSeed: number;
  /** For jpegRoundTrip, which the caller applies (it is asynchronous). */
  jpegQuality: number;
}

/** How often each optional effect happens; the defaults are what the augmentation stage uses. */
export interface SceneOptions {
  /**
   * Shares of the layouts (normalised): one fruit, 2–4 medium ones, a pile of 3–12 small ones, a crate (the
   * frame filled edge to edge by a jittered grid of 4–25 touching fruits, as on a market stall or in a tray).
   */
  layouts: { single: number; several: number; pile: number; crate?: number };
  edgeCrop: number;
  shadow: number;
  occlusion: number;
  blur: number;
}

export const DEFAULT_SCENE_OPTIONS: SceneOptions = {
  // Crates: what phone photos of market stalls, trays and bowls show most (8 of the 30 shared photos are of a
  // frame full of one fruit), and what no other layout produced.
  layouts: { single: 0.45, several: 0.15, pile: 0.2, crate: 0.2 },
  edgeCrop: 0.2,
  shadow: 0.5,
  occlusion: 0.25,
  blur: 0.35,
};

const OCCLUDER_COLOURS: [number, number, number][] = [
  [70, 110, 45],
  [40, 80, 35], // leaves
  [225, 180, 150],
  [190, 140, 110],
  [120, 80, 60], // hands
  [30, 30, 32],
  [150, 110, 70], // dark object, basket
];

/**
 * A phone-photo-like scene of one class: copies of the references (cut out of their white background) on
 * `background`, then shadows, occlusion, lighting, white balance, blur and noise. Returns the scene's bytes, every
 * parameter drawn, and the JPEG quality to finish it with (see jpegRoundTrip). Pure function of its inputs and the
 * rng's state.
 */
export function composeScene(
  fruits: RgbImage[],
  background: RgbImage,
  rng: Rng,
  size: number = SCENE_SIZE,
  options: Partial<SceneOptions> = {},
): { image: RgbImage; params: SceneParams; jpegQuality: number } {
  const o: SceneOptions = { ...DEFAULT_SCENE_OPTIONS, ...options };
  if (fruits.length === 0) throw new RangeError('composeScene: no reference image');
  fruits.forEach((f, i) => assertRgbImage(f, `composeScene: reference ${i}`));
  assertRgbImage(background, 'composeScene: background');
  if (background.width !== size || background.height !== size) {
    throw new RangeError(`composeScene: background is ${background.width}×${background.height}, expected ${size}×${size}`);
  }
  const cuts = fruits.map(cutout);
  const n = size * size;
  const canvas = new Float32Array(n * 3);
  canvas.set(background.data);

  const { layout, copies, edgeCrop } = drawCopies(cuts, rng, size, o);

  let shadow: ShadowParams | null = null;
  if (rng.chance(o.shadow)) {
    // Light mostly from above: shadows fall down and to a side, longer for bigger fruit.
    const mean = copies.reduce((s, c) => s + c.extent, 0) / copies.length;
    const angle = rng.range(0.25, 0.75) * Math.PI + rng.range(-0.6, 0.6);
    const length = rng.range(0.03, 0.12) * mean * size;
    shadow = {
      dx: Math.cos(angle) * length,
      dy: Math.sin(angle) * length,
      sigma: rng.range(0.03, 0.1) * mean * size + 1,
      strength: rng.range(0.25, 0.6),
    };
    // Drawn and blurred at half resolution: a shadow is soft, and this is a quarter of the work.
    const hs = Math.ceil(size / 2);
    const coverage = new Float32Array(hs * hs);
    for (const c of copies) {
      const half = { ...c, scale: c.scale / 2, x: c.x / 2, y: c.y / 2 };
      pasteCutout(cuts[c.reference], half, hs, hs, { coverage, dx: shadow.dx / 2, dy: shadow.dy / 2 });
    }
    gaussianBlur(coverage, hs, hs, 1, shadow.sigma / 2);
    darken(canvas, size, coverage, hs, shadow.strength);
  }

  for (const c of copies) pasteCutout(cuts[c.reference], c, size, size, { rgb: canvas, gain: c.gain });

  const occlusion = rng.chance(o.occlusion) ? drawOcclusion(cuts, copies, rng, size) : null;
  if (occlusion) paintOcclusion(canvas, background, occlusion, size);

  const tone: Tone = {
    brightness: rng.range(0.7, 1.25),
    contrast: rng.range(0.75, 1.25),
    gamma: Math.exp(rng.range(Math.log(0.75), Math.log(1.35))),
    temperature: rng.range(-1, 1),
    tint: rng.range(-0.5, 0.5),
    saturation: rng.range(0.65, 1.35),
  };
  // Lens blur happens before the phone's processing: blur first, then tone curves, saturation and noise in one pass.
  const blurSigma = rng.chance(o.blur) ? rng.range(0.4, 2) : 0;
  blurRgb(canvas, size, size, blurSigma);
  // Most phone photos are clean in daylight; some are grainy indoors.
  const noiseSigma = rng.chance(0.7) ? rng.range(0, 3) : rng.range(3, 9);
  const noiseSeed = rng.uint32();
  const image = createImage(size, size);
  toneNoiseQuantise(canvas, image.data, tone, noiseSigma, noiseSeed);
  const jpegQuality = rng.int(40, 95);
  const params: SceneParams = {
    size,
    background: { kind: 'given', source: null },
    layout,
    copies,
    edgeCrop,
    shadow,
    occlusion,
    tone,
    blurSigma,
    noiseSigma,
    noiseSeed,
    jpegQuality,
  };
  return { image, params, jpegQuality };
}

function drawCopies(cuts: Cutout[], rng: Rng, size: number, o: SceneOptions): { layout: SceneParams['layout']; copies: CopyParams[]; edgeCrop: boolean } {
  const { single, several, pile } = o.layouts;
  const crate = o.layouts.crate ?? 0;
  const roll = rng.next() * (single + several + pile + crate);
  const layout: SceneParams['layout'] = roll < single ? 'single' : roll < single + several ? 'several' : roll < single + several + pile ? 'pile' : 'crate';
  const copies: CopyParams[] = [];
  const copy = (extent: number, x: number, y: number): CopyParams => {
    const reference = rng.int(0, cuts.length - 1);
    const [x0, y0, x1, y1] = cuts[reference].box;
    return {
      reference,
      extent,
      scale: (extent * size) / Math.max(x1 - x0, y1 - y0),
      x,
      y,
      rotation: rng.range(0, 360),
      flipX: rng.chance(0.5),
      flipY: rng.chance(0.5),
      gain: rng.range(0.82, 1.12),
    };
  };
  let edgeCrop: boolean;
  if (layout === 'single') {
    // Log-uniform between 20 % and 90 %: small fruit in a big frame is as common as close-ups.
    const extent = Math.exp(rng.range(Math.log(0.2), Math.log(0.9)));
    const r = (extent * size) / 2;
    edgeCrop = rng.chance(o.edgeCrop);
    let x: number, y: number;
    if (edgeCrop) {
      // 15–45 % of the fruit outside one side of the frame.
      const out = rng.range(0.15, 0.45) * 2 * r;
      const side = rng.int(0, 3);
      const along = rng.range(r, size - r);
      // Sides: 0 left, 1 top, 2 right, 3 bottom.
      const across = side < 2 ? r - out : size - r + out;
      [x, y] = side % 2 === 0 ? [across, along] : [along, across];
    } else {
      const slack = Math.max(0, size / 2 - r);
      x = size / 2 + rng.range(-slack, slack);
      y = size / 2 + rng.range(-slack, slack);
    }
    copies.push(copy(extent, x, y));
  } else if (layout === 'several') {
    const count = rng.int(2, 4);
    for (let i = 0; i < count; i++) {
      const extent = rng.range(0.2, 0.5);
      const r = (extent * size) / 2;
      copies.push(copy(extent, rng.range(r * 0.6, size - r * 0.6), rng.range(r * 0.6, size - r * 0.6)));
    }
    edgeCrop = copies.some(
      (c) => c.x < (c.extent * size) / 2 || c.y < (c.extent * size) / 2 || c.x > size - (c.extent * size) / 2 || c.y > size - (c.extent * size) / 2,
    );
  } else if (layout === 'crate') {
    // A grid of n × n cells over the whole frame, one copy per cell, a little larger than its cell so that
    // neighbours touch and overlap, jittered, the outer ones cut by the frame edges; drawn top row first.
    const n = rng.int(2, 5);
    const cell = size / n;
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const extent = (rng.range(1.0, 1.3) * cell) / size;
        copies.push(copy(extent, (i + 0.5) * cell + rng.range(-0.15, 0.15) * cell, (j + 0.5) * cell + rng.range(-0.15, 0.15) * cell));
      }
    }
    copies.sort((a, b) => a.y - b.y);
    edgeCrop = true;
  } else {
    // A pile: small copies crowded around a centre, the nearer (lower) ones drawn last, on top.
    const count = rng.int(3, 12);
    const base = rng.range(0.12, 0.3);
    const spread = base * size * Math.sqrt(count) * 0.38;
    const cx = rng.range(0.3, 0.7) * size,
      cy = rng.range(0.3, 0.7) * size;
    for (let i = 0; i < count; i++) {
      const extent = base * rng.range(0.85, 1.15);
      copies.push(copy(extent, cx + rng.normal() * spread, cy + rng.normal() * spread * 0.8));
    }
    copies.sort((a, b) => a.y - b.y);
    edgeCrop = copies.some((c) => c.x < 0 || c.y < 0 || c.x > size || c.y > size);
  }
  return { layout, copies, edgeCrop };
}

function drawOcclusion(cuts: Cutout[], copies: CopyParams[], rng: Rng, size: number): OcclusionParams {
  const copy = rng.int(0, copies.length - 1);
  const c = copies[copy];
  const [x0, y0, x1, y1] = placementBounds(cuts[c.reference], c, size, size);
  const r = Math.max(4, Math.min(x1 - x0, y1 - y0) / 2);
  const roll = rng.next();
  const fill: OcclusionParams['fill'] = roll < 0.25 ? 'background' : roll < 0.65 ? 'texture' : 'colour';
  const angle = rng.range(0, 2 * Math.PI);
  const colour = fill === 'colour' ? (rng.pick(OCCLUDER_COLOURS).map((v) => v * rng.range(0.85, 1.1)) as [number, number, number]) : null;
  const offsetX = fill === 'texture' ? rng.range(-0.5, 0.5) * size : 0;
  const offsetY = fill === 'texture' ? rng.range(-0.5, 0.5) * size : 0;
  if (fill === 'texture' && rng.chance(0.7)) {
    // A band whose inner edge crosses the fruit at `d` from its centre: it hides the part beyond, like a rim.
    const d = rng.range(0.1, 0.6) * r;
    const ry = rng.range(0.15, 0.5) * r;
    const nx = Math.cos(angle),
      ny = Math.sin(angle);
    return {
      copy,
      fill,
      shape: 'band',
      x: c.x + nx * (d + ry),
      y: c.y + ny * (d + ry),
      rx: rng.range(1.5, 3) * r,
      ry,
      angle: angle + Math.PI / 2,
      colour,
      offsetX,
      offsetY,
    };
  }
  // An ellipse centred off the fruit's centre towards one side, so it hides a part and leaves most of it; one of
  // the surface's own look sits on the fruit's edge (a bite out of the outline), never inside it as a hole.
  const d = (fill === 'background' ? rng.range(0.85, 1.1) : rng.range(0.45, 0.85)) * r;
  return {
    copy,
    fill,
    shape: 'ellipse',
    x: c.x + Math.cos(angle) * d,
    y: c.y + Math.sin(angle) * d,
    rx: rng.range(0.3, 0.6) * r,
    ry: rng.range(0.3, 0.6) * r,
    angle: 0,
    colour,
    offsetX,
    offsetY,
  };
}

function paintOcclusion(canvas: Float32Array, background: RgbImage, o: OcclusionParams, size: number): void {
  const ca = Math.cos(o.angle),
    sa = Math.sin(o.angle);
  const ex = Math.abs(ca) * o.rx + Math.abs(sa) * o.ry + 1,
    ey = Math.abs(sa) * o.rx + Math.abs(ca) * o.ry + 1;
  const x0 = Math.max(0, Math.floor(o.x - ex)),
    x1 = Math.min(size, Math.ceil(o.x + ex));
  const y0 = Math.max(0, Math.floor(o.y - ey)),
    y1 = Math.min(size, Math.ceil(o.y + ey));
  const bg = background.data;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const px = x + 0.5 - o.x,
        py = y + 0.5 - o.y;
      const dx = (px * ca + py * sa) / o.rx,
        dy = (py * ca - px * sa) / o.ry;
      // Distance inside the edge in pixels (roughly, for the ellipse), for a 1.5-pixel soft edge.
      const inside =
        o.shape === 'ellipse' ? (1 - Math.sqrt(dx * dx + dy * dy)) * Math.min(o.rx, o.ry) : Math.min((1 - Math.abs(dx)) * o.rx, (1 - Math.abs(dy)) * o.ry);
      const a = inside <= 0 ? 0 : inside >= 1.5 ? 1 : inside / 1.5;
      if (a === 0) continue;
      const q = (y * size + x) * 3;
      let r: number, g: number, b: number;
      if (o.fill === 'colour' && o.colour) {
        [r, g, b] = o.colour;
        const k = 1 - 0.15 * (dx * dx + dy * dy); // a little shading, not a flat sticker
        r *= k;
        g *= k;
        b *= k;
      } else {
        let sx = x,
          sy = y,
          k = 1;
        if (o.fill === 'texture') {
          sx = (((x + Math.round(o.offsetX)) % size) + size) % size;
          sy = (((y + Math.round(o.offsetY)) % size) + size) % size;
          k = 0.7;
        }
        const s = (sy * size + sx) * 3;
        r = bg[s] * k;
        g = bg[s + 1] * k;
        b = bg[s + 2] * k;
      }
      canvas[q] += a * (r - canvas[q]);
      canvas[q + 1] += a * (g - canvas[q + 1]);
      canvas[q + 2] += a * (b - canvas[q + 2]);
    }
  }
}

/** canvas *= 1 - strength × coverage, coverage being a half-resolution map upsampled bilinearly. */
function darken(canvas: Float32Array, size: number, coverage: Float32Array, hs: number, strength: number): void {
  // Only the rows and columns the shadow reaches.
  let lx0 = hs,
    lx1 = -1,
    ly0 = hs,
    ly1 = -1;
  for (let j = 0; j < hs; j++) {
    for (let i = 0; i < hs; i++) {
      if (coverage[j * hs + i] >= 0.004) {
        if (i < lx0) lx0 = i;
        if (i > lx1) lx1 = i;
        if (j < ly0) ly0 = j;
        if (j > ly1) ly1 = j;
      }
    }
  }
  if (lx1 < 0) return;
  const x0 = Math.max(0, 2 * lx0 - 1),
    x1 = Math.min(size, 2 * lx1 + 3);
  const y0 = Math.max(0, 2 * ly0 - 1),
    y1 = Math.min(size, 2 * ly1 + 3);
  const xi = new Int32Array(size),
    xj = new Int32Array(size),
    xw = new Float32Array(size);
  for (let x = x0; x < x1; x++) {
    const u = Math.min(Math.max((x + 0.5) / 2 - 0.5, 0), hs - 1);
    xi[x] = Math.floor(u);
    xj[x] = Math.min(xi[x] + 1, hs - 1);
    xw[x] = u - xi[x];
  }
  const row = new Float32Array(hs);
  for (let y = y0; y < y1; y++) {
    const v = Math.min(Math.max((y + 0.5) / 2 - 0.5, 0), hs - 1);
    const j = Math.floor(v),
      wy = v - j;
    const r0 = j * hs,
      r1 = Math.min(j + 1, hs - 1) * hs;
    for (let i = lx0 > 0 ? lx0 - 1 : 0; i <= lx1 + 1 && i < hs; i++) row[i] = coverage[r0 + i] + wy * (coverage[r1 + i] - coverage[r0 + i]);
    for (let x = x0, q = (y * size + x0) * 3; x < x1; x++, q += 3) {
      const c = row[xi[x]] + xw[x] * (row[xj[x]] - row[xi[x]]);
      const k = 1 - strength * c;
      canvas[q] *= k;
      canvas[q + 1] *= k;
      canvas[q + 2] *= k;
    }
  }
}
