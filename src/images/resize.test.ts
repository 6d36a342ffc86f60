import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resizeBilinearInto } from './resize.js';

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
  assert.deepEqual(row.map((v) => Math.round(v * 100) / 100), [0, 25, 75, 100]);
});

test('NCHW layout puts each channel in its own plane', () => {
  const rgb = Uint8Array.from([10, 20, 30]);
  const out = new Float32Array(2 * 2 * 3);
  resizeBilinearInto(rgb, 1, 1, 2, out, 0, { ...identity, layout: 'nchw' });
  assert.deepEqual(Array.from(out), [10, 10, 10, 10, 20, 20, 20, 20, 30, 30, 30, 30]);
});
