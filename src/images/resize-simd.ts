/**
 * The NHWC bilinear upscale of resize.ts as a WebAssembly kernel with 128-bit SIMD for the vertical pass. The JS
 * loops spend ~0.55 ms per 100×100 → 224×224 image, a tenth of the model's own cost per image on the same core;
 * this does the same computation in ~0.1 ms (npm run bench:stages). Both passes are the JS ones, with the same
 * taps and formula: horizontal with normalisation into a height × size × 3 buffer, then vertical into the output;
 * the buffer is float32 here (float64 in JS), so the two agree within 1e-6, not bit for bit.
 *
 * @module
 */

import { ModuleWriter, Op, SimdOp } from '../wasm/module-writer.js';

// @types/node 20 declares no WebAssembly values; the few this file uses (Node has them all):
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
};

/** The interpolation taps of one axis, computed once per (input, output) size by resize.ts. */
export interface LinearTaps {
  /** Left/top source index of each output coordinate (clamped). */
  i0: Int32Array;
  i1: Int32Array;
  /** Weight of i1; i0 gets 1 - w. */
  w: Float32Array;
}

interface Kernel {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  hpass: (...args: number[]) => void;
  vpass: (...args: number[]) => void;
}

const PAGE = 65536;

function kernelBytes(): Uint8Array {
  return new ModuleWriter(40)
    .function(
      'hpass',
      ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32'],
      (f, src, stride, height, size, ax, bx, wx, tmp, s0, s1, s2, o0, o1, o2) => {
        const [y, x4, xEnd, row, a, b, d] = [0, 0, 0, 0, 0, 0, 0].map(() => f.local('i32'));
        const [w, va] = [f.local('f32'), f.local('f32')];
        const scale = [s0, s1, s2];
        const offset = [o0, o1, o2];
        f.get(size).i32(4).op(Op.i32Mul).set(xEnd);
        f.get(tmp).set(d);
        f.get(src).set(row);
        f.forLoop(y, height, 1, () => {
          f.forLoop(x4, xEnd, 4, () => {
            f.get(row).get(ax).get(x4).op(Op.i32Add).memory(Op.i32Load, 2).op(Op.i32Add).set(a);
            f.get(row).get(bx).get(x4).op(Op.i32Add).memory(Op.i32Load, 2).op(Op.i32Add).set(b);
            f.get(wx).get(x4).op(Op.i32Add).memory(Op.f32Load, 2).set(w);
            for (let c = 0; c < 3; c++) {
              f.get(d);
              f.get(a).memory(Op.i32Load8U, 0, c).op(Op.f32ConvertI32U).op(Op.localTee, va);
              f.get(b).memory(Op.i32Load8U, 0, c).op(Op.f32ConvertI32U).get(va).op(Op.f32Sub);
              f.get(w).op(Op.f32Mul).op(Op.f32Add);
              f.get(scale[c]).op(Op.f32Mul).get(offset[c]).op(Op.f32Add);
              f.memory(Op.f32Store, 2, 4 * c);
            }
            f.get(d).i32(12).op(Op.i32Add).set(d);
          });
          f.get(row).get(stride).op(Op.i32Add).set(row);
        });
      },
    )
    .function('vpass', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (f, tmp, rowBytes, size, ay, by, wy, out) => {
      const [y4, yEnd, a, b, i, d] = [0, 0, 0, 0, 0, 0].map(() => f.local('i32'));
      const [wv, va] = [f.local('v128'), f.local('v128')];
      f.get(size).i32(4).op(Op.i32Mul).set(yEnd);
      f.get(out).set(d);
      f.forLoop(y4, yEnd, 4, () => {
        f.get(tmp).get(ay).get(y4).op(Op.i32Add).memory(Op.i32Load, 2).op(Op.i32Add).set(a);
        f.get(tmp).get(by).get(y4).op(Op.i32Add).memory(Op.i32Load, 2).op(Op.i32Add).set(b);
        f.get(wy).get(y4).op(Op.i32Add).memory(Op.f32Load, 2).simd(SimdOp.f32x4Splat).set(wv);
        f.forLoop(i, rowBytes, 16, () => {
          f.get(a).get(i).op(Op.i32Add).simd(SimdOp.v128Load, 4, 0).set(va);
          f.get(d).get(i).op(Op.i32Add);
          f.get(va);
          f.get(b).get(i).op(Op.i32Add).simd(SimdOp.v128Load, 4, 0).get(va).simd(SimdOp.f32x4Sub);
          f.get(wv).simd(SimdOp.f32x4Mul).simd(SimdOp.f32x4Add);
          f.simd(SimdOp.v128Store, 4, 0);
        });
        f.get(d).get(rowBytes).op(Op.i32Add).set(d);
      });
    })
    .toBytes();
}

/** undefined: not tried yet; null: this runtime has no WebAssembly SIMD (the JS loops are used). */
let kernel: Kernel | null | undefined;
/** The taps now in the kernel's memory: every image of a run has the same shape, so they are written once. */
let loadedTaps: { tx: LinearTaps; ty: LinearTaps; size: number } | undefined;

function load(): Kernel | null {
  if (kernel === undefined) {
    try {
      kernel = new WebAssembly.Instance(new WebAssembly.Module(kernelBytes())).exports as unknown as Kernel;
    } catch {
      kernel = null;
    }
  }
  return kernel;
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/**
 * Resizes rgb (width×height×3) to size×size×3 NHWC floats, normalised, into out at offset. False when the kernel
 * cannot take it (no SIMD, or a row that is not a whole number of 4-float vectors): the caller uses JS.
 */
export function resizeBilinearSimdInto(
  rgb: Uint8Array,
  width: number,
  height: number,
  size: number,
  tx: LinearTaps,
  ty: LinearTaps,
  scale: readonly number[],
  offset: readonly number[],
  out: Float32Array,
  outOffset: number,
): boolean {
  const rowBytes = size * 3 * 4;
  if (rowBytes % 16 !== 0) return false;
  const k = load();
  if (!k) return false;
  const taps = 0;
  const src = align16(taps + 6 * size * 4);
  const tmp = align16(src + width * height * 3);
  const dst = align16(tmp + height * rowBytes);
  const end = dst + size * rowBytes;
  if (k.memory.buffer.byteLength < end) k.memory.grow(Math.ceil((end - k.memory.buffer.byteLength) / PAGE));
  const buffer = k.memory.buffer;
  if (loadedTaps?.tx !== tx || loadedTaps.ty !== ty || loadedTaps.size !== size) {
    writeTaps(buffer, taps, tx, ty, size, rowBytes);
    loadedTaps = { tx, ty, size };
  }
  new Uint8Array(buffer, src, width * height * 3).set(rgb.subarray(0, width * height * 3));
  k.hpass(src, width * 3, height, size, taps, taps + size * 4, taps + 2 * size * 4, tmp, scale[0], scale[1], scale[2], offset[0], offset[1], offset[2]);
  k.vpass(tmp, rowBytes, size, taps + 3 * size * 4, taps + 4 * size * 4, taps + 5 * size * 4, dst);
  out.set(new Float32Array(buffer, dst, size * size * 3), outOffset);
  return true;
}

/** Byte offsets and weights of the taps, as the two passes read them (rows of the buffer as byte offsets). */
function writeTaps(buffer: ArrayBuffer, at: number, tx: LinearTaps, ty: LinearTaps, size: number, rowBytes: number): void {
  const i32 = new Int32Array(buffer, at, 6 * size);
  const f32 = new Float32Array(buffer, at, 6 * size);
  for (let o = 0; o < size; o++) {
    i32[o] = tx.i0[o] * 3;
    i32[size + o] = tx.i1[o] * 3;
    f32[2 * size + o] = tx.w[o];
    i32[3 * size + o] = ty.i0[o] * rowBytes;
    i32[4 * size + o] = ty.i1[o] * rowBytes;
    f32[5 * size + o] = ty.w[o];
  }
}
