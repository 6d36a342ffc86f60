import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderView, viewBoxes } from './views.js';

test('viewBoxes: the whole photo first, then 2×2 and 3×3 square crops inside the frame; more along a long side', () => {
  const square = viewBoxes(900, 900);
  assert.deepEqual(square[0], { x: 0, y: 0, width: 1, height: 1 });
  assert.equal(square.length, 1 + 4 + 9);
  for (const b of square) {
    assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.width <= 1 + 1e-9 && b.y + b.height <= 1 + 1e-9, JSON.stringify(b));
  }
  const wide = viewBoxes(1600, 1200);
  assert.ok(wide.length > square.length);
  // Crops are square in pixels.
  for (const b of wide.slice(1)) assert.ok(Math.abs(b.width * 1600 - b.height * 1200) < 1e-6);
});

test('renderView: a crop shows only its part of the photo, averaged when shrunk', () => {
  // Left half red, right half blue.
  const width = 400;
  const height = 200;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(x < 200 ? [255, 0, 0] : [0, 0, 255], (y * width + x) * 3);
  const left = renderView({ width, height, data }, { x: 0, y: 0, width: 0.5, height: 1 }, 32);
  assert.ok(
    left.every((v, i) => (i % 3 === 0 ? v === 255 : v === 0)),
    'the left crop is all red',
  );
  const whole = renderView({ width, height, data }, { x: 0, y: 0, width: 1, height: 1 }, 32);
  assert.deepEqual([...whole.slice(0, 3)], [255, 0, 0]);
  assert.deepEqual([...whole.slice(31 * 3, 32 * 3)], [0, 0, 255]);
});
