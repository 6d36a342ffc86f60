import { resizeBilinearSimdInto, type LinearTaps } from './resize-simd.js';

/**
 * Bilinear upscaling fused with normalisation, in JS. libvips (sharp) spends ~2.5 ms of CPU to upscale one
 * 100×100 Fruits-360 image to 224×224, a third of MobileNetV2's own cost per image on one core; this loop
 * does it in a fraction of that, so decoding stays far below inference. Downscaling is left to sharp, which
 * antialiases properly and shrinks JPEGs while decoding.
 */
const tapsCache = new Map<string, LinearTaps>();

/** Half-pixel centres, as PIL, OpenCV and ONNX Resize(half_pixel) use. */
function linearTaps(inSize: number, outSize: number): LinearTaps {
  const key = `${inSize}:${outSize}`;
  const cached = tapsCache.get(key);
  if (cached) return cached;
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inSize - 1);
    const lo = Math.floor(src);
    i0[o] = lo;
    i1[o] = Math.min(lo + 1, inSize - 1);
    w[o] = src - lo;
  }
  const taps = { i0, i1, w };
  tapsCache.set(key, taps);
  return taps;
}

export interface Normalisation {
  /** value = pixel * scale[c] + offset[c], per RGB channel. */
  scale: [number, number, number];
  offset: [number, number, number];
  layout: 'nhwc' | 'nchw';
}

/**
 * Resizes an RGB image (width×height×3, uint8) to size×size and writes normalised floats into
 * `out` starting at `offset`. Works for any size; meant for upscaling (no antialiasing).
 */
export function resizeBilinearInto(rgb: Uint8Array, width: number, height: number, size: number, out: Float32Array, offset: number, norm: Normalisation): void {
  const tx = linearTaps(width, size);
  const ty = linearTaps(height, size);
  if (norm.layout === 'nhwc' && resizeBilinearSimdInto(rgb, width, height, size, tx, ty, norm.scale, norm.offset, out, offset)) return;
  resizeScalarInto(rgb, width, height, size, tx, ty, out, offset, norm);
}

/** The reference loops: NCHW, sizes the SIMD kernel does not take, runtimes without WebAssembly SIMD. */
export function resizeBilinearScalarInto(
  rgb: Uint8Array,
  width: number,
  height: number,
  size: number,
  out: Float32Array,
  offset: number,
  norm: Normalisation,
): void {
  resizeScalarInto(rgb, width, height, size, linearTaps(width, size), linearTaps(height, size), out, offset, norm);
}

function resizeScalarInto(
  rgb: Uint8Array,
  width: number,
  height: number,
  size: number,
  tx: LinearTaps,
  ty: LinearTaps,
  out: Float32Array,
  offset: number,
  norm: Normalisation,
): void {
  // Horizontal pass, normalising as it goes (interpolation commutes with the affine scaling), into a reused
  // buffer of height × size × 3; then the vertical pass writes straight into the batch tensor.
  const rowLen = size * 3;
  if (scratch.length < height * rowLen) scratch = new Float64Array(height * rowLen);
  const tmp = scratch;
  const [s0, s1, s2] = norm.scale;
  const [o0, o1, o2] = norm.offset;
  for (let y = 0; y < height; y++) {
    const src = y * width * 3;
    const dst = y * rowLen;
    for (let x = 0; x < size; x++) {
      const a = src + tx.i0[x] * 3;
      const b = src + tx.i1[x] * 3;
      const w = tx.w[x];
      const d = dst + x * 3;
      tmp[d] = (rgb[a] + w * (rgb[b] - rgb[a])) * s0 + o0;
      tmp[d + 1] = (rgb[a + 1] + w * (rgb[b + 1] - rgb[a + 1])) * s1 + o1;
      tmp[d + 2] = (rgb[a + 2] + w * (rgb[b + 2] - rgb[a + 2])) * s2 + o2;
    }
  }
  const plane = size * size;
  for (let y = 0; y < size; y++) {
    const a = ty.i0[y] * rowLen;
    const b = ty.i1[y] * rowLen;
    const w = ty.w[y];
    if (norm.layout === 'nhwc') {
      const d = offset + y * rowLen;
      for (let i = 0; i < rowLen; i++) out[d + i] = tmp[a + i] + w * (tmp[b + i] - tmp[a + i]);
    } else {
      const d = offset + y * size;
      for (let x = 0; x < size; x++) {
        const i = x * 3;
        out[d + x] = tmp[a + i] + w * (tmp[b + i] - tmp[a + i]);
        out[d + plane + x] = tmp[a + i + 1] + w * (tmp[b + i + 1] - tmp[a + i + 1]);
        out[d + 2 * plane + x] = tmp[a + i + 2] + w * (tmp[b + i + 2] - tmp[a + i + 2]);
      }
    }
  }
}

let scratch = new Float64Array(0);
