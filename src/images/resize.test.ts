import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resizeBilinearSimdInto } from './resize-simd.js';
import { resizeBilinearInto, resizeBilinearScalarInto } from './resize.js';

const identity = { scale: [1, 1, 1] as [number, number, number], offset: [0, 0, 0] as [number, number, number], layout: 'nhwc' as const };

test('a constant image stays constant after upscaling', () => {
  const rgb = new Uint8Array(10 * 10 * 3).fill(77);
  const out = new Float32Array(224 * 224 * 3);
  resizeBilinearInto(rgb, 10, 10, 224, out, 0, identity);
  assert.ok(out.every((v) => Math.abs(v - 77) < 1e-4));
});

test('bilinear with half-pixel centres: a 2×1 ramp upscaled to 4 keeps its ends and interpolates between', () => {
  // Two pixels 0 and 100 across; output width 4 → centres map to -0.25, 0.25, 0.75, 1.25 (clamped)
  const rgb = Uint8Array.from([0, 0, 0, 100, 100, 100]);
  const out = new Float32Array(4 * 4 * 3);
  resizeBilinearInto(rgb, 2, 1, 4, out, 0, identity);
  const row = [0, 1, 2, 3].map((x) => out[x * 3]);
  assert.deepEqual(
    row.map((v) => Math.round(v * 100) / 100),
    [0, 25, 75, 100],
  );
});

test('NCHW layout puts each channel in its own plane', () => {
  const rgb = Uint8Array.from([10, 20, 30]);
  const out = new Float32Array(2 * 2 * 3);
  resizeBilinearInto(rgb, 1, 1, 2, out, 0, { ...identity, layout: 'nchw' });
  assert.deepEqual(Array.from(out), [10, 10, 10, 10, 20, 20, 20, 20, 30, 30, 30, 30]);
});

test('the WebAssembly SIMD kernel gives the scalar loops’ values (within float32 rounding) for every shape it takes', () => {
  const norm = {
    scale: [1 / 127.5, 1 / 127.5, 1 / 127.5] as [number, number, number],
    offset: [-1, -1, -1] as [number, number, number],
    layout: 'nhwc' as const,
  };
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 256;
  for (const [width, height, size] of [
    [100, 100, 224],
    [37, 53, 224],
    [1, 1, 224],
    [224, 7, 224],
    [5, 3, 8],
  ]) {
    const rgb = Uint8Array.from({ length: width * height * 3 }, random);
    const scalar = new Float32Array(size * size * 3 + 5);
    const simd = new Float32Array(size * size * 3 + 5);
    resizeBilinearScalarInto(rgb, width, height, size, scalar, 5, norm);
    resizeBilinearInto(rgb, width, height, size, simd, 5, norm);
    let worst = 0;
    for (let i = 0; i < scalar.length; i++) worst = Math.max(worst, Math.abs(scalar[i] - simd[i]));
    assert.ok(worst < 1e-6, `${width}×${height} → ${size}: max difference ${worst}`);
  }
  // Node 20 has WebAssembly SIMD: the fast path must really be taken, not fall back to JS unnoticed.
  const taps = { i0: new Int32Array(224), i1: new Int32Array(224), w: new Float32Array(224) };
  assert.equal(resizeBilinearSimdInto(new Uint8Array(3), 1, 1, 224, taps, taps, norm.scale, norm.offset, new Float32Array(224 * 224 * 3), 0), true);
  // A row of 3 × 6 floats is not a whole number of 4-float vectors: the kernel declines, the loops take it.
  assert.equal(resizeBilinearSimdInto(new Uint8Array(3), 1, 1, 6, taps, taps, norm.scale, norm.offset, new Float32Array(6 * 6 * 3), 0), false);
});
