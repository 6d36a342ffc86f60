import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  calibrateThreshold,
  combineViews,
  decodeSceneClassifier,
  encodeSceneClassifier,
  fruitGroups,
  rankFruits,
  SCENE_CLASSIFIER_FORMAT,
  sceneProbabilities,
  topK,
} from './scene-classifier.js';

test('calibrateThreshold: the lowest score whose precision (of all answers at or above it) reaches the target', () => {
  const scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
  const correct = [true, true, true, false, true, false];
  const { threshold, curve } = calibrateThreshold(scores, correct, 0.8);
  // At 0.5: 4 right of 5 = 0.8; at 0.4: 4 of 6.
  assert.equal(threshold, 0.5);
  const at = curve.find((p) => p.threshold === 0.5)!;
  assert.equal(at.coverage, round(5 / 6));
  assert.equal(at.precision, 0.8);
  assert.equal(calibrateThreshold([0.3], [false], 0.9).threshold, 1, 'never right: never answer');
});

test('combineViews averages the views and names the view that backs a class most', () => {
  const probs = Float32Array.from([0.5, 0.5, 0.1, 0.9, 0.7, 0.3]);
  const { combined, bestView } = combineViews(probs, 3, 2);
  assert.ok(Math.abs(combined[0] - 1.3 / 3) < 1e-6 && Math.abs(combined[1] - 1.7 / 3) < 1e-6);
  assert.equal(bestView(1), 1);
  assert.equal(bestView(0), 2);
});

test('topK and the classifier file round trip', () => {
  assert.deepEqual(topK(Float32Array.from([0.2, 0.8, 0.6, 0.4]), Int32Array.from([1, 1]), 2), { top1: 0.5, top5: 1 });
  const c = {
    format: SCENE_CLASSIFIER_FORMAT,
    runId: 'r',
    modelSha256: 'abc',
    createdAt: 'now',
    classes: ['A', 'B'],
    probe: { dim: 3, classCount: 2, weights: Float32Array.from([1, 2, 3, 4, 5, 6.5]), bias: Float32Array.from([0.25, -1]), temperature: 1.5 },
    views: [{ scale: 0.5, grid: 2 }],
    threshold: 0.3,
    targetPrecision: 0.9,
    augmentKey: 'k',
  } as const;
  const back = decodeSceneClassifier(encodeSceneClassifier({ ...c, classes: [...c.classes], views: [...c.views] }));
  assert.deepEqual([...back.probe.weights], [...c.probe.weights]);
  assert.deepEqual([...back.probe.bias], [...c.probe.bias]);
  assert.equal(back.threshold, 0.3);
  assert.throws(() => decodeSceneClassifier(JSON.stringify({ format: 'x' })), /not a fruits-scene-classifier/);
});

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}

test("rankFruits sums a fruit's varieties, names it by its likeliest one, and lists distinct fruits", () => {
  // Classes: apple A, apple B, pear, plum. Apple A alone (0.3) is below pear (0.35); apple as a fruit (0.55) is not.
  const groups = fruitGroups(4, ['apple', 'apple', 'pear', 'plum']);
  const ranked = rankFruits(Float32Array.from([0.3, 0.25, 0.35, 0.1]), groups);
  assert.deepEqual(
    ranked.map((r) => r.classIndex),
    [0, 2, 3],
  );
  assert.ok(Math.abs(ranked[0].score - 0.55) < 1e-6);
  // Without fruit names every class is its own fruit: plain ranking by class.
  assert.deepEqual(
    rankFruits(Float32Array.from([0.3, 0.25, 0.35, 0.1]), fruitGroups(4)).map((r) => r.classIndex),
    [2, 0, 1, 3],
  );
});

test('topK by fruit counts a sibling variety as right', () => {
  const groups = fruitGroups(3, ['apple', 'apple', 'pear']);
  const probs = Float32Array.from([0.5, 0.2, 0.3]);
  assert.deepEqual(topK(probs, Int32Array.from([1]), 3), { top1: 0, top5: 1 });
  assert.deepEqual(topK(probs, Int32Array.from([1]), 3, groups), { top1: 1, top5: 1 });
});

test('a classifier with an MLP head round-trips through its file and answers with the MLP, not the probe', () => {
  const probe = { dim: 2, classCount: 2, weights: Float32Array.from([1, 0, 0, 1]), bias: Float32Array.from([0, 0]), temperature: 1 };
  // The MLP swaps the classes: hidden = relu(x), logits = hidden · [[0, 5], [5, 0]].
  const mlp = {
    dim: 2,
    hidden: 2,
    classCount: 2,
    w1: Float32Array.from([1, 0, 0, 1]),
    b1: Float32Array.from([0, 0]),
    w2: Float32Array.from([0, 5, 5, 0]),
    b2: Float32Array.from([0, 0]),
    temperature: 1,
  };
  const x = Float32Array.from([1, 0]);
  assert.ok(sceneProbabilities({ probe }, x, 1)[0] > 0.5);
  const c = {
    format: SCENE_CLASSIFIER_FORMAT,
    runId: 'r',
    modelSha256: 's',
    createdAt: 't',
    classes: ['a', 'b'],
    probe,
    mlp,
    views: [],
    threshold: 0.3,
    targetPrecision: 0.9,
    augmentKey: 'k',
  } as const;
  const back = decodeSceneClassifier(encodeSceneClassifier({ ...c, classes: [...c.classes], views: [] }));
  assert.deepEqual([...back.mlp!.w2], [0, 5, 5, 0]);
  const p = sceneProbabilities(back, x, 1);
  assert.ok(p[1] > 0.99, `MLP answer ${p[1]}`);
});
