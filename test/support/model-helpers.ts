import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { convLayers, FEATURE_DIM, onnxWeightShape, type ConvWeights, type MobileNetV2Weights } from '../../src/model/builder/architecture.js';

/** Deterministic inputs in [-1, 1] (what the pipeline feeds after x/127.5-1). */
export function randomInputs(count: number, seed: number): Float32Array {
  const x = new Float32Array(count * 224 * 224 * 3);
  let s = seed >>> 0;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s / 2 ** 32) * 2 - 1;
  }
  return x;
}

export async function runFeatures(
  model: string | Uint8Array,
  input: Float32Array,
  count: number,
  outputs = ['features'],
): Promise<Record<string, Float32Array>> {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 2, graphOptimizationLevel: 'all' };
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  try {
    const result = await session.run({ input: new ort.Tensor('float32', input, [count, 224, 224, 3]) }, outputs);
    return Object.fromEntries(outputs.map((name) => [name, result[name].data as Float32Array]));
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Seeded random weights for every layer of MobileNetV2 (for tests that need the shapes, not a trained network). */
export function randomWeights(seed: number, classes?: number): MobileNetV2Weights {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
  const fill = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => next() * scale);
  const layers = new Map<string, ConvWeights>();
  for (const layer of convLayers()) {
    const count = onnxWeightShape(layer).reduce((a, b) => a * b, 1);
    layers.set(layer.id, { weight: fill(count, 0.5), bias: fill(layer.outChannels, 0.1) });
  }
  const classifier = classes ? { kernel: fill(FEATURE_DIM * classes, 0.05), bias: fill(classes, 0.1), classes } : undefined;
  return { layers, classifier };
}

const tempDirs: string[] = [];
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed when the test process exits (these tests write 9 MB weight files). */
export function tempDir(prefix = 'fruits-model-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
