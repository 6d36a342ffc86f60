import { GAUSSIAN_TABLE } from './noise.js';

/**
 * Camera-side changes on a float RGB canvas (interleaved, 0–255 scale): the references are all shot under one
 * studio light with one white balance; phone photos are not.
 */
export interface Tone {
  /** Multiplies linear-ish intensity: < 1 darker, > 1 brighter. */
  brightness: number;
  /** Around mid-grey: < 1 flatter, > 1 punchier. */
  contrast: number;
  /** Exponent on [0, 1] values: < 1 lifts shadows, > 1 deepens them. */
  gamma: number;
  /** -1 (cool, bluish) … +1 (warm, tungsten). */
  temperature: number;
  /** -1 (magenta) … +1 (green). */
  tint: number;
  /** 0 = grey, 1 = unchanged. */
  saturation: number;
}

/** Per-channel curves (gamma, contrast, brightness, white balance) as 256-entry tables, ×255 scale. */
function toneTables(tone: Tone): [Float32Array, Float32Array, Float32Array] {
  const luts = [0, 1, 2].map((c) => {
    const gain = c === 0 ? 1 + 0.12 * tone.temperature : c === 2 ? 1 - 0.14 * tone.temperature : 1 + 0.05 * tone.tint;
    const lut = new Float32Array(256);
    for (let i = 0; i < 256; i++) {
      let v = Math.pow(i / 255, tone.gamma);
      v = (v - 0.5) * tone.contrast + 0.5;
      lut[i] = v * tone.brightness * gain * 255;
    }
    return lut;
  });
  return luts as [Float32Array, Float32Array, Float32Array];
}

/**
 * Gaussian-like blur of an interleaved image with `channels` values per pixel: a 3-tap Gaussian for small sigmas,
 * otherwise two box blurs (running sums; their tent-shaped product is within a few percent of a Gaussian of the
 * same variance) whose radii are chosen to match sigma's variance as closely as integers allow.
 */
export function gaussianBlur(buf: Float32Array, width: number, height: number, channels: number, sigma: number): void {
  if (sigma <= 0.2) return;
  const tmp = new Float32Array(buf.length);
  if (sigma < 0.9) {
    const e = Math.exp(-1 / (2 * sigma * sigma));
    const w = e / (1 + 2 * e);
    tap3(buf, tmp, width, height, channels, w, true);
    tap3(tmp, buf, width, height, channels, w, false);
    return;
  }
  for (const r of boxRadii(sigma)) {
    boxPass(buf, tmp, width, height, channels, r, true);
    boxPass(tmp, buf, width, height, channels, r, false);
  }
}

/**
 * The scene blur: sigmas under 0.9 as gaussianBlur; larger ones at half resolution (2×2 mean, blur, bilinear back
 * up), which costs a third as much. Halving and doubling blur by about half a pixel themselves, so the half-
 * resolution sigma makes up the rest of the variance.
 */
export function blurRgb(canvas: Float32Array, width: number, height: number, sigma: number): void {
  if (sigma < 0.9 || width < 8 || height < 8) {
    gaussianBlur(canvas, width, height, 3, sigma);
    return;
  }
  const lw = width >> 1,
    lh = height >> 1;
  const low = new Float32Array(lw * lh * 3);
  const rowLen = width * 3;
  for (let y = 0; y < lh; y++) {
    for (let x = 0; x < lw; x++) {
      const a = 2 * y * rowLen + 6 * x,
        o = (y * lw + x) * 3;
      low[o] = 0.25 * (canvas[a] + canvas[a + 3] + canvas[a + rowLen] + canvas[a + rowLen + 3]);
      low[o + 1] = 0.25 * (canvas[a + 1] + canvas[a + 4] + canvas[a + rowLen + 1] + canvas[a + rowLen + 4]);
      low[o + 2] = 0.25 * (canvas[a + 2] + canvas[a + 5] + canvas[a + rowLen + 2] + canvas[a + rowLen + 5]);
    }
  }
  const rest = Math.sqrt(Math.max(0, sigma * sigma - 0.5 * 0.5)) / 2;
  gaussianBlur(low, lw, lh, 3, rest);
  const xi = new Int32Array(width),
    xj = new Int32Array(width),
    xw = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const u = Math.min(Math.max((x + 0.5) / 2 - 0.5, 0), lw - 1);
    xi[x] = Math.floor(u) * 3;
    xj[x] = Math.min(Math.floor(u) + 1, lw - 1) * 3;
    xw[x] = u - Math.floor(u);
  }
  const row = new Float32Array(lw * 3);
  for (let y = 0; y < height; y++) {
    const v = Math.min(Math.max((y + 0.5) / 2 - 0.5, 0), lh - 1);
    const j = Math.floor(v),
      wy = v - j;
    const r0 = j * lw * 3,
      r1 = Math.min(j + 1, lh - 1) * lw * 3;
    for (let i = 0; i < lw * 3; i++) row[i] = low[r0 + i] + wy * (low[r1 + i] - low[r0 + i]);
    for (let x = 0, q = y * rowLen; x < width; x++, q += 3) {
      const a = xi[x],
        b = xj[x],
        w = xw[x];
      canvas[q] = row[a] + w * (row[b] - row[a]);
      canvas[q + 1] = row[a + 1] + w * (row[b + 1] - row[a + 1]);
      canvas[q + 2] = row[a + 2] + w * (row[b + 2] - row[a + 2]);
    }
  }
}

function tap3(src: Float32Array, dst: Float32Array, w: number, h: number, ch: number, k: number, horizontal: boolean): void {
  const mid = 1 - 2 * k;
  const stride = horizontal ? ch : w * ch;
  const len = horizontal ? w : h;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const pos = horizontal ? x : y;
      const base = (y * w + x) * ch;
      const prev = pos > 0 ? base - stride : base;
      const next = pos < len - 1 ? base + stride : base;
      for (let c = 0; c < ch; c++) dst[base + c] = mid * src[base + c] + k * (src[prev + c] + src[next + c]);
    }
  }
}

/** Two box radii whose summed variance r(r+1)/3 each is closest to sigma². */
export function boxRadii(sigma: number): [number, number] {
  const target = sigma * sigma;
  let best: [number, number] = [1, 1];
  let err = Infinity;
  for (let r1 = 0; r1 <= 64; r1++) {
    for (let r2 = r1; r2 <= r1 + 1; r2++) {
      const e = Math.abs((r1 * (r1 + 1) + r2 * (r2 + 1)) / 3 - target);
      if (e < err) {
        err = e;
        best = [r1, r2];
      }
    }
  }
  return best;
}

function boxPass(src: Float32Array, dst: Float32Array, w: number, h: number, ch: number, r: number, horizontal: boolean): void {
  if (r <= 0) {
    dst.set(src);
    return;
  }
  if (horizontal) boxRows(src, dst, w, h, ch, r);
  else boxColumns(src, dst, w, h, ch, r);
}

/** Running sums along each row, all channels of a pixel together (edges clamped). */
function boxRows(src: Float32Array, dst: Float32Array, w: number, h: number, ch: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  const sum = new Float64Array(ch);
  const rowLen = w * ch;
  for (let y = 0; y < h; y++) {
    const row = y * rowLen;
    const lastPx = row + (w - 1) * ch;
    for (let c = 0; c < ch; c++) {
      let s = src[row + c] * (r + 1);
      for (let i = 1; i <= r; i++) s += src[row + (i < w ? i : w - 1) * ch + c];
      sum[c] = s;
    }
    for (let x = 0; x < w; x++) {
      const o = row + x * ch;
      const add = x + r + 1 < w ? row + (x + r + 1) * ch : lastPx;
      const sub = x - r > 0 ? row + (x - r) * ch : row;
      for (let c = 0; c < ch; c++) {
        dst[o + c] = sum[c] * inv;
        sum[c] += src[add + c] - src[sub + c];
      }
    }
  }
}

/** Running sums down the columns, a whole row at a time, so memory is read in order. */
function boxColumns(src: Float32Array, dst: Float32Array, w: number, h: number, ch: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  const rowLen = w * ch;
  const sum = new Float32Array(rowLen);
  for (let i = 0; i < rowLen; i++) sum[i] = src[i] * (r + 1);
  for (let k = 1; k <= r; k++) {
    const o = (k < h ? k : h - 1) * rowLen;
    for (let i = 0; i < rowLen; i++) sum[i] += src[o + i];
  }
  const last = (h - 1) * rowLen;
  for (let y = 0; y < h; y++) {
    const o = y * rowLen;
    const add = y + r + 1 < h ? (y + r + 1) * rowLen : last;
    const sub = y - r > 0 ? (y - r) * rowLen : 0;
    for (let i = 0; i < rowLen; i++) {
      dst[o + i] = sum[i] * inv;
      sum[i] += src[add + i] - src[sub + i];
    }
  }
}

/**
 * The last pass, to bytes: the tone curves and saturation (what the phone's processing does), then sensor noise:
 * luminance noise of `sigma` (stronger in the shadows, as a phone's denoiser leaves it) plus a third as much
 * colour noise. Normals come from a fixed table indexed by an xorshift seeded from the scene's rng, so the noise
 * costs a few integer operations per pixel.
 */
export function toneNoiseQuantise(canvas: Float32Array, out: Uint8Array, tone: Tone, sigma: number, seed: number): void {
  const o = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  const [lr, lg, lb] = toneTables(tone);
  const sat = tone.saturation;
  let s = seed | 0 || 0x1234567;
  const t = GAUSSIAN_TABLE;
  const chroma = sigma / 3;
  const k0 = sigma * 1.4,
    k1 = (sigma * 0.8) / 255;
  for (let i = 0; i < canvas.length; i += 3) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const r = lr[index(canvas[i])],
      g = lg[index(canvas[i + 1])],
      b = lb[index(canvas[i + 2])];
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    const rr = y + sat * (r - y),
      gg = y + sat * (g - y),
      bb = y + sat * (b - y);
    if (y < 0) y = 0;
    else if (y > 255) y = 255;
    const l = (k0 - k1 * y) * t[s & 0xffff];
    const c = s >>> 16;
    o[i] = rr + l + chroma * t[c];
    o[i + 1] = gg + l + chroma * t[(c + 21845) & 0xffff];
    o[i + 2] = bb + l + chroma * t[(c + 43690) & 0xffff];
  }
}

function index(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
}
