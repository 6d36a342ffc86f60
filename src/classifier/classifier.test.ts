import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BatchQueue } from './batch-queue.js';
import { decide, DEFAULT_THRESHOLDS } from './decision.js';
import { QueueFullError } from './errors.js';
import { crossValidate } from './evaluation.js';
import { splitFold, stratifiedFolds } from './folds.js';
import { oodScores } from './identifier.js';
import { knnRanking } from './knn.js';
import { NeighbourKernel } from './neighbours.js';
import { fitTemperature, probeLogits, softmax, trainProbe } from './probe.js';
import type { ReferenceSet } from './reference-set.js';
import { classifierFromJson, classifierToJson, loadOrTrainClassifier, trainClassifier } from './trained-classifier.js';
import { gatherRows, normalizeRows, seededRandom, transpose } from './vectors.js';
import { LocalStorage } from '../storage/local-storage.js';

const DIM = 16;
const CLASSES = 4;
const PER_CLASS = 40;

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
}

/**
 * Synthetic "PCA vectors": 4 classes, each a Gaussian blob (σ 0.5) around its own centre of length 5 in 16-d,
 * plus a shared offset so cosine similarity has to work for it. Features (for the full-space path) = the same.
 */
function syntheticSet(seed = 1): ReferenceSet & { centres: Float32Array } {
  const random = seededRandom(seed);
  const centres = new Float32Array(CLASSES * DIM);
  for (let c = 0; c < CLASSES; c++) {
    let norm = 0;
    for (let j = 0; j < DIM; j++) norm += (centres[c * DIM + j] = gaussian(random)) ** 2;
    for (let j = 0; j < DIM; j++) centres[c * DIM + j] *= 5 / Math.sqrt(norm);
  }
  const rows = CLASSES * PER_CLASS;
  const x = new Float32Array(rows * DIM);
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    labels[r] = r % CLASSES;
    for (let j = 0; j < DIM; j++) x[r * DIM + j] = centres[labels[r] * DIM + j] + 0.5 * gaussian(random) + 1;
  }
  return {
    manifest: { runId: 'synthetic-run', model: { sha256: 'f'.repeat(64), featureDim: DIM } } as ReferenceSet['manifest'],
    pca: { k: DIM, dim: DIM, mean: new Float32Array(DIM) } as ReferenceSet['pca'],
    classes: ['A', 'B', 'C', 'D'],
    labels,
    paths: Array.from({ length: rows }, (_, i) => `${i}.jpg`),
    pcaVectors: x,
    features: x,
    rows,
    centres,
  };
}

describe('classifiers on synthetic classes', () => {
  const set = syntheticSet();
  const folds = stratifiedFolds(set.labels, 4, 7);
  const { train, test: held } = splitFold(folds, 0);
  const xTrain = gatherRows(set.pcaVectors, DIM, train);
  const yTrain = Int32Array.from(train, (i) => set.labels[i]);
  const xTest = gatherRows(set.pcaVectors, DIM, held);
  const yTest = Int32Array.from(held, (i) => set.labels[i]);

  test('stratified folds put ~1/k of every class in every fold', () => {
    for (let c = 0; c < CLASSES; c++) {
      const perFold = [0, 0, 0, 0];
      set.labels.forEach((l, i) => l === c && perFold[folds[i]]++);
      assert.ok(Math.max(...perFold) - Math.min(...perFold) <= 1, perFold.join(','));
    }
  });

  test('the softmax probe separates the classes (held-out top-1 = 100%)', async () => {
    const probe = await trainProbe(xTrain, train.length, DIM, yTrain, CLASSES);
    let hits = 0;
    for (let r = 0; r < held.length; r++) {
      const p = softmax(probeLogits(probe, xTest.subarray(r * DIM, (r + 1) * DIM)));
      if (p.indexOf(Math.max(...p)) === yTest[r]) hits++;
    }
    assert.equal(hits, held.length);
  });

  test('kNN (onnxruntime MatMul + TopK) separates the classes; neighbours come sorted', async () => {
    const kernel = await NeighbourKernel.create(1);
    try {
      const neighbours = await kernel.search(
        normalizeRows(xTest, DIM),
        held.length,
        DIM,
        10,
        transpose(normalizeRows(xTrain, DIM), train.length, DIM),
        train.length,
      );
      for (let r = 0; r < held.length; r++) {
        const ranked = knnRanking(neighbours, r, yTrain);
        assert.equal(ranked[0].classIndex, yTest[r]);
        assert.ok(ranked[0].score > 0.5 && ranked[0].score <= 1);
        const sims = neighbours.similarities.subarray(r * 10, r * 10 + 10);
        for (let i = 1; i < 10; i++) assert.ok(sims[i - 1] >= sims[i]);
      }
    } finally {
      await kernel.close();
    }
  });

  test('cross-validation: 100% top-1 for kNN and probe, on "PCA" and "full" vectors', async () => {
    const cv = await crossValidate(set, { folds: 4, spaces: ['pca', 'full'] });
    assert.equal(cv.results.length, 2);
    for (const r of cv.results) assert.deepEqual([r.knn.top1, r.knn.top5, r.probe.top1, r.probe.top5], [1, 1, 1, 1], r.space);
    assert.deepEqual(cv.confusedPairs, []);
  });

  test('"not sure" for an out-of-distribution vector, sure for a new in-distribution one', async () => {
    const classifier = await trainClassifier(set);
    const kernel = await NeighbourKernel.withReferences(transpose(normalizeRows(set.pcaVectors, DIM), set.rows, DIM), set.rows, DIM, 1);
    try {
      const judge = async (v: Float32Array) => {
        const neighbours = await kernel.search(normalizeRows(v, DIM), 1, DIM, 10);
        const probs = softmax(probeLogits(classifier.probe, v), classifier.probe.temperature);
        const top = probs.indexOf(Math.max(...probs));
        const ood = oodScores(v, neighbours, top, classifier);
        return { top, ood, ...decide({ classIndex: top, score: probs[top] }, knnRanking(neighbours, 0, set.labels)[0].classIndex, ood, DEFAULT_THRESHOLDS) };
      };
      const inside = Float32Array.from(set.centres.subarray(2 * DIM, 3 * DIM), (v) => v + 1);
      const near = await judge(inside);
      assert.equal(near.top, 2);
      assert.equal(near.notSure, false, JSON.stringify(near));
      // A direction none of the classes has: orthogonal-ish to every centre and the shared offset.
      const random = seededRandom(99);
      const outside = Float32Array.from({ length: DIM }, () => 5 * gaussian(random));
      const far = await judge(outside);
      assert.equal(far.notSure, true, JSON.stringify(far));
      assert.ok(far.reasons.includes('unlike-references'));
      assert.ok(far.ood.score > DEFAULT_THRESHOLDS.maxOod);
    } finally {
      await kernel.close();
    }
  });

  test('the trained classifier round-trips through JSON and is cached in the run, keyed by run id', async () => {
    const storage = new LocalStorage(mkdtempSync(join(tmpdir(), 'fruits-cache-')));
    const first = await loadOrTrainClassifier(storage, set);
    assert.equal(first.source, 'trained');
    assert.ok(await storage.exists('classifier/probe.json'));
    const second = await loadOrTrainClassifier(storage, set);
    assert.equal(second.source, 'cache');
    assert.deepEqual(second.classifier.probe.weights, first.classifier.probe.weights);
    assert.deepEqual(classifierFromJson(classifierToJson(first.classifier)).ood, first.classifier.ood);
    const otherRun = { ...set, manifest: { ...set.manifest, runId: 'another-run' } };
    assert.equal((await loadOrTrainClassifier(storage, otherRun)).source, 'trained', 'a cache of another run is not used');
  });
});

describe('decision, calibration, batch queue', () => {
  const ood = (score: number) => ({ nearestSimilarity: 0.9, nearestRatio: score, centroidRatio: score, residualRatio: 0, score });

  test('decide: low score alone is "not sure" unless the other method agrees; far from references always is', () => {
    assert.deepEqual(decide({ classIndex: 1, score: 0.9 }, 1, ood(0.5), DEFAULT_THRESHOLDS), { notSure: false, reasons: [] });
    assert.deepEqual(decide({ classIndex: 1, score: 0.3 }, 2, ood(0.5), DEFAULT_THRESHOLDS), { notSure: true, reasons: ['low-score'] });
    assert.deepEqual(decide({ classIndex: 1, score: 0.3 }, 1, ood(0.5), DEFAULT_THRESHOLDS), { notSure: false, reasons: [] });
    assert.deepEqual(decide({ classIndex: 1, score: 0.99 }, 1, ood(5), DEFAULT_THRESHOLDS), { notSure: true, reasons: ['unlike-references'] });
    assert.equal(decide(undefined, undefined, ood(0), DEFAULT_THRESHOLDS).notSure, true);
  });

  test('temperature scaling recovers the temperature of over-sharp logits', () => {
    const random = seededRandom(5);
    const rows = 3000;
    const C = 5;
    const logits = new Float32Array(rows * C);
    const labels = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      const z = Array.from({ length: C }, () => 2 * gaussian(random));
      const p = softmax(z);
      let u = random();
      labels[r] = C - 1;
      for (let c = 0; c < C; c++)
        if ((u -= p[c]) < 0) {
          labels[r] = c;
          break;
        }
      z.forEach((v, c) => (logits[r * C + c] = 3 * v));
    }
    const t = fitTemperature(logits, labels, C);
    assert.ok(Math.abs(t - 3) < 0.4, `fitted ${t}`);
  });

  test('BatchQueue batches what waits while busy and refuses beyond maxWaiting', async () => {
    const batches: number[][] = [];
    const queue = new BatchQueue<number, number>(
      async (items) => {
        batches.push(items);
        await new Promise((r) => setTimeout(r, 20));
        return items.map((i) => i * 2);
      },
      { maxBatch: 3, maxWaiting: 5 },
    );
    const first = queue.push(0);
    const waiting = [1, 2, 3, 4, 5].map((i) => queue.push(i));
    await assert.rejects(queue.push(6), QueueFullError);
    const outputs = await Promise.all([first, ...waiting]);
    assert.deepEqual(
      outputs.map((o) => o.output),
      [0, 2, 4, 6, 8, 10],
    );
    assert.deepEqual(batches, [[0], [1, 2, 3], [4, 5]]);
  });
});
