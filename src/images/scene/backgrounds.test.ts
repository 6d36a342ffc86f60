import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKGROUND_KINDS, backgroundFromPhoto, photoCrop, proceduralBackground } from './backgrounds.js';
import { createImage } from './rgb-image.js';
import { createRng } from './rng.js';

function stats(data: Uint8Array): { mean: number; std: number; minChannelMean: number } {
  let s = 0,
    s2 = 0,
    m = 0;
  for (let i = 0; i < data.length; i++) {
    s += data[i];
    s2 += data[i] * data[i];
  }
  for (let i = 0; i < data.length; i += 3) m += Math.min(data[i], data[i + 1], data[i + 2]);
  const mean = s / data.length;
  return { mean, std: Math.sqrt(s2 / data.length - mean * mean), minChannelMean: m / (data.length / 3) };
}

test('proceduralBackground: every kind appears, deterministic, with texture, white ones near white', () => {
  const seen = new Set<string>();
  for (let seed = 0; seed < 150; seed++) {
    const a = proceduralBackground(createRng(seed), 224, 224);
    assert.equal(a.image.width, 224);
    assert.equal(a.image.data.length, 224 * 224 * 3);
    const base = a.kind.split('-')[0] === 'linear' || a.kind.split('-')[0] === 'radial' ? a.kind.split('-').slice(0, 2).join('-') : a.kind.split('-')[0];
    assert.ok((BACKGROUND_KINDS as readonly string[]).includes(base), a.kind);
    seen.add(base);
    const s = stats(a.image.data);
    if (base === 'white') assert.ok(s.minChannelMean > 170, `white background too dark: ${s.minChannelMean}`);
    if (['wood', 'cloth', 'tiles', 'stone', 'noise'].includes(base)) assert.ok(s.std > 1.5, `${a.kind} (seed ${seed}) is flat: std ${s.std}`);
    if (seed < 5) assert.deepEqual(proceduralBackground(createRng(seed), 224, 224), a);
  }
  assert.deepEqual([...seen].sort(), [...BACKGROUND_KINDS].sort());
});

test('backgroundFromPhoto: a crop of the photo at the asked size, deterministic from the rng', () => {
  // A horizontal ramp: a crop's mean brightness says where it came from.
  const photo = createImage(640, 480);
  for (let y = 0; y < 480; y++) for (let x = 0; x < 640; x++) photo.data.fill(Math.round((x / 639) * 255), (y * 640 + x) * 3, (y * 640 + x) * 3 + 3);
  const a = photoCrop(photo, createRng(3), 224, 224);
  assert.equal(a.image.width, 224);
  assert.equal(a.image.height, 224);
  assert.ok(a.crop.width >= 0.35 * 480 - 1 && a.crop.width <= 480 && a.crop.x >= 0 && a.crop.x + a.crop.width <= 640);
  const expected = ((a.crop.x + a.crop.width / 2) / 639) * 255;
  assert.ok(Math.abs(stats(a.image.data).mean - expected) < 3, `mean ${stats(a.image.data).mean} vs ${expected}`);
  // The ramp's direction follows the flip.
  const left = a.image.data[(112 * 224 + 5) * 3],
    right = a.image.data[(112 * 224 + 218) * 3];
  assert.equal(left < right, !a.crop.flipX);
  assert.deepEqual(backgroundFromPhoto(photo, createRng(3), 224, 224), a.image);
  assert.notDeepEqual(backgroundFromPhoto(photo, createRng(4), 224, 224).data, a.image.data);
});
