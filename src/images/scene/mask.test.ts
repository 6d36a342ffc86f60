import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fruitMask } from './mask.js';
import { discOnWhite } from '../../../test/support/scene-images.js';

function at(mask: Float32Array, size: number, x: number, y: number): number {
  return mask[y * size + x];
}

test('fruitMask: a coloured disc on white is 1 on the disc and 0 on the white', () => {
  const img = discOnWhite([200, 40, 50], { radius: 32, noise: 6 });
  const mask = fruitMask(img);
  assert.equal(mask.length, 100 * 100);
  let inside = 1,
    outside = 0;
  for (let y = 0; y < 100; y++) {
    for (let x = 0; x < 100; x++) {
      const d = Math.hypot(x + 0.5 - 50, y + 0.5 - 50);
      const m = at(mask, 100, x, y);
      assert.ok(m >= 0 && m <= 1, `alpha ${m} out of [0, 1]`);
      if (d < 29) inside = Math.min(inside, m);
      if (d > 33) outside = Math.max(outside, m);
    }
  }
  assert.ok(inside > 0.99, `disc interior alpha min ${inside}`);
  assert.ok(outside < 0.01, `background alpha max ${outside}`);
});

test('fruitMask: a white highlight inside the fruit stays in the mask (it is not connected to the border)', () => {
  const img = discOnWhite([120, 30, 140], { radius: 32, highlight: 6 });
  const mask = fruitMask(img);
  // The highlight is centred at (42, 42), pure white.
  assert.deepEqual([...img.data.subarray((42 * 100 + 42) * 3, (42 * 100 + 42) * 3 + 3)], [255, 255, 255]);
  for (let y = 38; y <= 46; y++) for (let x = 38; x <= 46; x++) assert.ok(at(mask, 100, x, y) > 0.99, `highlight (${x},${y}) = ${at(mask, 100, x, y)}`);
});

test('fruitMask: pale yellow and cream fruits touching white are kept whole', () => {
  for (const colour of [
    [250, 235, 120],
    [240, 232, 200],
  ] as [number, number, number][]) {
    const mask = fruitMask(discOnWhite(colour, { radius: 32, noise: 4 }));
    let sum = 0;
    for (let y = 0; y < 100; y++) for (let x = 0; x < 100; x++) if (Math.hypot(x + 0.5 - 50, y + 0.5 - 50) < 29) sum += at(mask, 100, x, y);
    const count = [...Array(100 * 100).keys()].filter((p) => Math.hypot((p % 100) + 0.5 - 50, Math.floor(p / 100) + 0.5 - 50) < 29).length;
    assert.ok(sum / count > 0.98, `${colour}: mean interior alpha ${sum / count}`);
  }
});

test('fruitMask: specks of dust in the white background are not fruit', () => {
  const img = discOnWhite([60, 140, 60], { radius: 25 });
  for (const [x, y] of [
    [5, 5],
    [90, 8],
    [8, 92],
  ])
    img.data.set([90, 90, 90], (y * 100 + x) * 3);
  const mask = fruitMask(img);
  for (const [x, y] of [
    [5, 5],
    [90, 8],
    [8, 92],
  ])
    assert.equal(at(mask, 100, x, y), 0);
  assert.ok(at(mask, 100, 50, 50) > 0.99);
});

test('fruitMask: refuses a buffer that does not match its size', () => {
  assert.throws(() => fruitMask({ width: 10, height: 10, data: new Uint8Array(299) }), /299 bytes for 10×10/);
});
