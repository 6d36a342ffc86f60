/**
 * Fruits-360 images were made by flood-filling the background from the border to white. The mask inverts that:
 * the background is the near-white region *connected to the border*, so white highlights inside the fruit (not
 * connected) stay fruit. Distance to white is 255 - min(R,G,B): yellow and cream fruits have a low blue and are
 * far from white even where they look pale, so only grey-white pixels can be taken as background.
 *
 * @module
 */

import { assertRgbImage, type RgbImage } from './rgb-image.js';

export interface MaskOptions {
  /** At or below this distance to white a border-connected pixel is background (alpha 0). */
  white: number;
  /** The flood travels through pixels closer to white than this; alpha ramps to 1 between `white` and here. */
  flood: number;
  /** Pixels removed from the fruit's edge (min filter) before feathering: the JPEG white halo of the references. */
  erode: number;
  /** Fruit blobs smaller than this fraction of the largest one are specks of the background, dropped. */
  minBlob: number;
}

export const DEFAULT_MASK: MaskOptions = { white: 10, flood: 40, erode: 1, minBlob: 0.02 };

/** Soft alpha in [0, 1] per pixel (row-major, width×height): 0 = background, 1 = fruit. */
export function fruitMask(img: RgbImage, options: MaskOptions = DEFAULT_MASK): Float32Array {
  return hardAndSoft(img, options).alpha;
}

function hardAndSoft(img: RgbImage, o: MaskOptions): { alpha: Float32Array; core: Uint8Array } {
  assertRgbImage(img, 'fruitMask');
  const { width: w, height: h, data } = img;
  const n = w * h;
  const dist = new Uint8Array(n);
  for (let p = 0, i = 0; p < n; p++, i += 3) {
    const r = data[i],
      g = data[i + 1],
      b = data[i + 2];
    dist[p] = 255 - (r < g ? (r < b ? r : b) : g < b ? g : b);
  }
  // Flood from every border pixel through near-white pixels (4-connected: diagonal leaks through thin gaps
  // in a fruit's outline are what we want to avoid).
  const bg = new Uint8Array(n);
  const stack = new Int32Array(n);
  let top = 0;
  const seed = (p: number): void => {
    if (!bg[p] && dist[p] < o.flood) {
      bg[p] = 1;
      stack[top++] = p;
    }
  };
  for (let x = 0; x < w; x++) {
    seed(x);
    seed((h - 1) * w + x);
  }
  for (let y = 0; y < h; y++) {
    seed(y * w);
    seed(y * w + w - 1);
  }
  while (top > 0) {
    const p = stack[--top];
    const x = p % w;
    if (x > 0) seed(p - 1);
    if (x < w - 1) seed(p + 1);
    if (p >= w) seed(p - w);
    if (p < n - w) seed(p + w);
  }
  removeSpecks(bg, w, h, o.minBlob, stack);

  // Soft ramp inside the flooded region, 1 elsewhere; the ramp ends at `flood`, where the flood stopped, so the
  // alpha is continuous across the flood's boundary.
  let alpha: Float32Array = new Float32Array(n);
  const span = Math.max(1, o.flood - o.white);
  for (let p = 0; p < n; p++) {
    if (!bg[p]) alpha[p] = 1;
    else {
      const t = (dist[p] - o.white) / span;
      alpha[p] = t <= 0 ? 0 : t >= 1 ? 1 : t * t * (3 - 2 * t);
    }
  }
  for (let k = 0; k < o.erode; k++) alpha = minFilter3(alpha, w, h);
  const core = new Uint8Array(n);
  for (let p = 0; p < n; p++) core[p] = alpha[p] >= 0.999 ? 1 : 0;
  return { alpha: box3(alpha, w, h), core };
}

/** Non-background blobs far smaller than the fruit (dust, JPEG specks in the white) become background. */
function removeSpecks(bg: Uint8Array, w: number, h: number, minBlob: number, stack: Int32Array): void {
  const n = w * h;
  const label = new Int32Array(n).fill(-1);
  const sizes: number[] = [];
  for (let s = 0; s < n; s++) {
    if (bg[s] || label[s] >= 0) continue;
    const id = sizes.length;
    let top = 0;
    let size = 0;
    label[s] = id;
    stack[top++] = s;
    while (top > 0) {
      const p = stack[--top];
      size++;
      const x = p % w;
      const visit = (q: number): void => {
        if (!bg[q] && label[q] < 0) {
          label[q] = id;
          stack[top++] = q;
        }
      };
      if (x > 0) visit(p - 1);
      if (x < w - 1) visit(p + 1);
      if (p >= w) visit(p - w);
      if (p < n - w) visit(p + w);
    }
    sizes.push(size);
  }
  if (sizes.length <= 1) return;
  const keep = Math.max(...sizes) * minBlob;
  for (let p = 0; p < n; p++) if (label[p] >= 0 && sizes[label[p]] < keep) bg[p] = 1;
}

function minFilter3(a: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let y = 0; y < h; y++) {
    const y0 = y > 0 ? y - 1 : 0,
      y1 = y < h - 1 ? y + 1 : h - 1;
    for (let x = 0; x < w; x++) {
      const x0 = x > 0 ? x - 1 : 0,
        x1 = x < w - 1 ? x + 1 : w - 1;
      let m = a[y * w + x];
      for (let yy = y0; yy <= y1; yy++) for (let xx = x0; xx <= x1; xx++) if (a[yy * w + xx] < m) m = a[yy * w + xx];
      out[y * w + x] = m;
    }
  }
  return out;
}

/** 3×3 box blur (edges clamped): the feather that turns the eroded step into a 2-pixel soft edge. */
function box3(a: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let y = 0; y < h; y++) {
    const y0 = y > 0 ? y - 1 : 0,
      y1 = y < h - 1 ? y + 1 : h - 1;
    for (let x = 0; x < w; x++) {
      const x0 = x > 0 ? x - 1 : 0,
        x1 = x < w - 1 ? x + 1 : w - 1;
      let s = 0;
      let c = 0;
      for (let yy = y0; yy <= y1; yy++)
        for (let xx = x0; xx <= x1; xx++) {
          s += a[yy * w + xx];
          c++;
        }
      out[y * w + x] = s / c;
    }
  }
  return out;
}

/** A reference ready to paste: premultiplied RGBA floats, a half-size level for small copies, its bounding box. */
export interface Cutout {
  levels: CutoutLevel[];
  /** Bounding box of alpha > 0.1 at full size, in pixels: [x0, y0, x1, y1) */
  box: [number, number, number, number];
  /** Fraction of the image covered by the fruit (sum of alpha / pixels). */
  coverage: number;
}

export interface CutoutLevel {
  width: number;
  height: number;
  /** r·a, g·a, b·a, a per pixel, r/g/b in 0–255. */
  rgba: Float32Array;
}

const cutouts = new WeakMap<RgbImage, Cutout>();

/** Cached per image object: the mask costs ~0.3 ms per 100×100 reference, scenes reuse a reference many times. */
export function cutout(img: RgbImage): Cutout {
  const cached = cutouts.get(img);
  if (cached) return cached;
  const { alpha, core } = hardAndSoft(img, DEFAULT_MASK);
  const { width: w, height: h } = img;
  const colour = decontaminate(img, core);
  const n = w * h;
  const rgba = new Float32Array(n * 4);
  let x0 = w,
    y0 = h,
    x1 = 0,
    y1 = 0;
  let sum = 0;
  for (let p = 0; p < n; p++) {
    const a = alpha[p];
    rgba[p * 4] = colour[p * 3] * a;
    rgba[p * 4 + 1] = colour[p * 3 + 1] * a;
    rgba[p * 4 + 2] = colour[p * 3 + 2] * a;
    rgba[p * 4 + 3] = a;
    sum += a;
    if (a > 0.1) {
      const x = p % w,
        y = (p - x) / w;
      if (x < x0) x0 = x;
      if (x >= x1) x1 = x + 1;
      if (y < y0) y0 = y;
      if (y >= y1) y1 = y + 1;
    }
  }
  if (x1 <= x0) {
    // Nothing but white (a blank or all-white image): paste the whole image rather than nothing.
    rgba.fill(0);
    for (let p = 0; p < n; p++) {
      for (let c = 0; c < 3; c++) rgba[p * 4 + c] = img.data[p * 3 + c];
      rgba[p * 4 + 3] = 1;
    }
    x0 = 0;
    y0 = 0;
    x1 = w;
    y1 = h;
    sum = n;
  }
  const levels: CutoutLevel[] = [{ width: w, height: h, rgba }];
  while (levels.length < 3) {
    const last = levels[levels.length - 1];
    if (last.width < 16 || last.height < 16) break;
    levels.push(halve(last));
  }
  const result: Cutout = { levels, box: [x0, y0, x1, y1], coverage: sum / n };
  cutouts.set(img, result);
  return result;
}

/**
 * Edge pixels are a blend of fruit and white; even with a soft alpha they would paste as a pale rim. Their
 * colour is replaced by the mean of nearby core (fully fruit) pixels, grown outwards a few pixels.
 */
function decontaminate(img: RgbImage, core: Uint8Array): Float32Array {
  const { width: w, height: h, data } = img;
  const n = w * h;
  const colour = new Float32Array(n * 3);
  const known = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    if (core[p]) {
      known[p] = 1;
      colour[p * 3] = data[p * 3];
      colour[p * 3 + 1] = data[p * 3 + 1];
      colour[p * 3 + 2] = data[p * 3 + 2];
    }
  }
  for (let pass = 0; pass < 3; pass++) {
    const grown: number[] = [];
    for (let p = 0; p < n; p++) {
      if (known[p]) continue;
      const x = p % w,
        y = (p - x) / w;
      let r = 0,
        g = 0,
        b = 0,
        c = 0;
      for (let yy = Math.max(0, y - 1); yy <= Math.min(h - 1, y + 1); yy++) {
        for (let xx = Math.max(0, x - 1); xx <= Math.min(w - 1, x + 1); xx++) {
          const q = yy * w + xx;
          if (known[q] === 1) {
            r += colour[q * 3];
            g += colour[q * 3 + 1];
            b += colour[q * 3 + 2];
            c++;
          }
        }
      }
      if (c > 0) {
        colour[p * 3] = r / c;
        colour[p * 3 + 1] = g / c;
        colour[p * 3 + 2] = b / c;
        grown.push(p);
      }
    }
    for (const p of grown) known[p] = 1;
  }
  for (let p = 0; p < n; p++) {
    if (!known[p]) {
      colour[p * 3] = data[p * 3];
      colour[p * 3 + 1] = data[p * 3 + 1];
      colour[p * 3 + 2] = data[p * 3 + 2];
    }
  }
  return colour;
}

/** 2×2 mean of premultiplied values: the correct downsampling of a cut-out (no dark or white fringe). */
function halve(level: CutoutLevel): CutoutLevel {
  const w = level.width >> 1,
    h = level.height >> 1;
  const src = level.rgba;
  const sw = level.width;
  const rgba = new Float32Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const a = (2 * y * sw + 2 * x) * 4,
        b = a + 4,
        c = a + sw * 4,
        d = c + 4;
      const o = (y * w + x) * 4;
      for (let k = 0; k < 4; k++) rgba[o + k] = 0.25 * (src[a + k] + src[b + k] + src[c + k] + src[d + k]);
    }
  }
  return { width: w, height: h, rgba };
}
