import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proceduralBackground } from './backgrounds.js';
import { decodePhoto, encodePng, jpegRoundTrip } from './jpeg.js';
import { createRng } from './rng.js';

test('jpegRoundTrip: same size, close to the input, closer at higher quality', async () => {
  const { image } = proceduralBackground(createRng(5), 224, 224);
  const diff = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
  const q40 = await jpegRoundTrip(image, 40);
  const q95 = await jpegRoundTrip(image, 95);
  assert.equal(q40.width, 224);
  assert.equal(q40.data.length, image.data.length);
  assert.ok(diff(q95.data, image.data) < diff(q40.data, image.data));
  assert.ok(diff(q40.data, image.data) < 12);
  await assert.rejects(jpegRoundTrip(image, 0), /quality must be in 1–100/);
});

test('decodePhoto: PNG bytes back to RGB, shrunk to maxSide', async () => {
  const { image } = proceduralBackground(createRng(6), 224, 224);
  const png = await encodePng(image);
  assert.deepEqual(await decodePhoto(png), image);
  const small = await decodePhoto(png, 100);
  assert.equal(small.width, 100);
  assert.equal(small.height, 100);
});
