import assert from 'node:assert/strict';
import { test } from 'node:test';
import { composeScene, type SceneParams } from './compose.js';
import { proceduralBackground } from './backgrounds.js';
import { randomScene } from './random-scene.js';
import { createRng } from './rng.js';
import { discOnWhite, uniform } from '../../../test/support/scene-images.js';
import type { RgbImage } from './rgb-image.js';

const RED: [number, number, number] = [200, 30, 40];
const BLUE: [number, number, number] = [30, 60, 160];

function count(img: RgbImage, keep: (r: number, g: number, b: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < img.data.length; i += 3) if (keep(img.data[i], img.data[i + 1], img.data[i + 2])) n++;
  return n;
}

const reddish = (r: number, g: number, b: number): boolean => r > g + 50 && r > b + 40;

test('composeScene: the disc is pasted onto the background and none of its white remains (no halo)', () => {
  const disc = discOnWhite(RED, { radius: 32, noise: 6 });
  // Same blue channel as the disc: every blend of disc and background keeps it (tone curves act per channel,
  // saturation and blur linearly), so only white left at the edge can raise the blue on the disc's rim.
  const green = uniform(224, [40, 140, 40]);
  for (let seed = 0; seed < 40; seed++) {
    const { image, params } = composeScene([disc], green, createRng(seed), 224, {
      layouts: { single: 1, several: 0, pile: 0 },
      occlusion: 0,
      edgeCrop: 0,
    });
    assert.equal(image.width, 224);
    assert.equal(image.data.length, 224 * 224 * 3);
    const red = count(image, reddish);
    const { x, y, scale } = params.copies[0];
    const radius = 32 * scale;
    assert.ok(red > 0.6 * Math.PI * radius * radius, `seed ${seed}: only ${red} red pixels for a disc of radius ${radius.toFixed(1)}`);
    const ring: number[] = [],
      inner: number[] = [],
      outer: number[] = [];
    for (let py = 0; py < 224; py++) {
      for (let px = 0; px < 224; px++) {
        const d = Math.hypot(px + 0.5 - x, py + 0.5 - y);
        const o = (py * 224 + px) * 3;
        const m = image.data[o + 2];
        if (Math.abs(d - radius) <= 1.5) ring.push(m);
        else if (d < radius - 3) inner.push(m);
        else if (d > radius + 3 && d < radius + 8) outer.push(m);
      }
    }
    const mean = (v: number[]) => v.reduce((s, a) => s + a, 0) / v.length;
    assert.ok(
      mean(ring) <= Math.max(mean(inner), mean(outer)) + 6,
      `seed ${seed}: blue on the rim ${mean(ring).toFixed(1)} vs inside ${mean(inner).toFixed(1)}, outside ${mean(outer).toFixed(1)}`,
    );
  }
});

test('composeScene: with every effect on, near-white pixels never appear on a coloured background', () => {
  const disc = discOnWhite(RED, { radius: 32, highlight: 0 });
  const blue = uniform(224, BLUE);
  for (let seed = 100; seed < 140; seed++) {
    const { image } = composeScene([disc], blue, createRng(seed));
    assert.equal(
      count(image, (r, g, b) => Math.min(r, g, b) > 230),
      0,
      `seed ${seed}`,
    );
  }
});

test('composeScene: same seed gives identical bytes and parameters, another seed differs', () => {
  const fruits = [discOnWhite(RED), discOnWhite([240, 200, 40], { radius: 28 })];
  const run = (seed: number) => {
    const rng = createRng(seed);
    const { image: bg } = proceduralBackground(rng, 224, 224);
    return composeScene(fruits, bg, rng);
  };
  const a = run(7),
    b = run(7),
    c = run(8);
  assert.deepEqual(a.image.data, b.image.data);
  assert.deepEqual(a.params, b.params);
  assert.notDeepEqual(a.image.data, c.image.data);
});

test('composeScene: parameters are JSON round-trippable and finite, with the JPEG quality in 40–95', () => {
  const fruits = [discOnWhite(RED)];
  const layouts = new Set<string>();
  let shadows = 0,
    occlusions = 0,
    blurs = 0;
  for (let seed = 0; seed < 60; seed++) {
    const { params, jpegQuality } = randomScene(fruits, createRng(seed));
    const json = JSON.stringify(params);
    assert.doesNotMatch(json, /null,"?[a-z]*"?:undefined|NaN|Infinity/);
    assert.deepEqual(JSON.parse(json) as SceneParams, params);
    assert.equal(params.jpegQuality, jpegQuality);
    assert.ok(Number.isInteger(jpegQuality) && jpegQuality >= 40 && jpegQuality <= 95);
    for (const c of params.copies) assert.ok(c.extent >= 0.1 && c.extent <= 0.9 && Number.isFinite(c.scale));
    assert.notEqual(params.background.kind, 'given');
    layouts.add(params.layout);
    if (params.shadow) shadows++;
    if (params.occlusion) occlusions++;
    if (params.blurSigma > 0) blurs++;
  }
  assert.deepEqual([...layouts].sort(), ['crate', 'pile', 'several', 'single']);
  assert.ok(shadows > 0 && occlusions > 0 && blurs > 0, `shadows ${shadows}, occlusions ${occlusions}, blurs ${blurs}`);
});

test('composeScene: piles hold 3–12 copies, and the scene shows more fruit than one copy would', () => {
  const disc = discOnWhite(RED, { radius: 32 });
  const blue = uniform(224, BLUE);
  const ratios: number[] = [];
  for (let seed = 0; seed < 10; seed++) {
    const { image, params } = composeScene([disc], blue, createRng(seed), 224, {
      layouts: { single: 0, several: 0, pile: 1 },
      occlusion: 0,
    });
    assert.equal(params.layout, 'pile');
    assert.ok(params.copies.length >= 3 && params.copies.length <= 12, `${params.copies.length} copies`);
    const biggest = Math.max(...params.copies.map((c) => c.scale));
    const oneCopy = Math.PI * (32 * biggest) ** 2;
    const red = count(image, reddish);
    // Copies overlap (that is what a pile looks like), but together they must cover more than one of them.
    assert.ok(red > 1.1 * oneCopy || params.edgeCrop, `seed ${seed}: ${red} red pixels for ${params.copies.length} copies of ~${Math.round(oneCopy)}`);
    ratios.push(red / oneCopy);
  }
  assert.ok(ratios.reduce((s, r) => s + r, 0) / ratios.length > 2, `mean coverage ${ratios.join(', ')} single copies`);
});

test('composeScene: rejects a background of the wrong size and an empty reference list', () => {
  const disc = discOnWhite(RED);
  assert.throws(() => composeScene([disc], uniform(100, BLUE), createRng(1)), /background is 100×100, expected 224×224/);
  assert.throws(() => composeScene([], uniform(224, BLUE), createRng(1)), /no reference image/);
});

test('composeScene: a crate fills the frame edge to edge with touching copies', () => {
  const disc = discOnWhite(RED, { radius: 32 });
  const blue = uniform(224, BLUE);
  for (let seed = 0; seed < 6; seed++) {
    const { image, params } = composeScene([disc], blue, createRng(seed), 224, {
      layouts: { single: 0, several: 0, pile: 0, crate: 1 },
      occlusion: 0,
      shadow: 0,
    });
    assert.equal(params.layout, 'crate');
    assert.ok(params.copies.length >= 4 && params.copies.length <= 25, `${params.copies.length} copies`);
    assert.ok(params.edgeCrop);
    // Discs on a grid of touching cells cover most of the frame (π/4 of it for discs exactly filling their cells).
    const share = count(image, reddish) / (224 * 224);
    assert.ok(share > 0.6, `fruit covers ${(share * 100).toFixed(0)} % of the frame`);
  }
});
