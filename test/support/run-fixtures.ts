import type { Manifest } from '../../src/dataset/manifest.js';
import type { Plan } from '../../src/dataset/plan.js';
import { DEFAULT_RUN_OPTIONS } from '../../src/dataset/run-spec.js';

/**
 * A complete, schema-valid manifest and plan for tests that need a run's files without running one (the readers
 * check every field, so a fixture with only the fields a test looks at no longer reads back). Override what the
 * test is about.
 */
const timings = { decode: 1, inputWait: 0, inference: 2, moments: 0, write: 1 };
const sha = 'a'.repeat(64);

export function manifestFixture(overrides: Partial<Manifest> = {}): Manifest {
  const part = { rows: 1, bytes: 100, sha256: sha };
  return {
    format: 'fruits-run/1',
    runId: 'r1',
    fingerprint: 'f',
    input: '/in',
    output: '/out',
    engine: 'local (1 thread)',
    createdAt: '2026-12-03T00:00:00Z',
    completedAt: '2026-12-03T00:00:01Z',
    options: { ...DEFAULT_RUN_OPTIONS },
    model: { file: 'm.onnx', sha256: sha, inputName: 'input', outputName: 'out', layout: 'NHWC', preprocessing: 'tf', inputSize: 224, featureDim: 1280 },
    preprocessing: { resize: 'r', normalisation: 'n', orientation: 'o', colour: 'c' },
    counts: { listed: 3, features: 3, errors: 0, classes: 2, shards: 1 },
    classes: ['Apple', 'Kiwi'],
    errors: { byStage: {}, examples: [] },
    pca: { k: 2, choice: { variance: 0.95 }, explainedVariance: 0.97, top10Ratio: [0.6, 0.37] },
    timings: { totalMs: 1, listMs: 1, featurizeMs: 1, pcaMergeMs: 0, pcaFitMs: 0, projectMs: 0, commitMs: 0, workerMs: timings },
    throughput: { imagesPerSecond: 3 },
    software: { node: 'v20' },
    parts: [{ shard: 0, images: 3, featurized: { images: 3, errors: 0, timings }, features: part, results: part }],
    planSha256: sha,
    ...overrides,
  };
}

export function planFixture(overrides: Partial<Plan> = {}, spec: Partial<Plan['spec']> = {}): Plan {
  return {
    spec: {
      runId: 'r1',
      input: '/in',
      output: '/out',
      createdAt: '2026-12-03T00:00:00Z',
      options: { ...DEFAULT_RUN_OPTIONS, shardSize: 2, batchSize: 2 },
      model: { file: 'm.onnx', sha256: sha },
      fingerprint: 'f',
      ...spec,
    },
    images: 3,
    classes: ['Apple', 'Kiwi'],
    shards: [
      { index: 0, keys: ['Apple/1.jpg', 'Apple/2.jpg'], labels: ['Apple', 'Apple'], sizes: [10, 11] },
      { index: 1, keys: ['k.jpg'], labels: ['Kiwi'], sizes: [9], source: { format: 'tar', file: 'a.tar', offsets: [512] } },
    ],
    listMs: 3,
    format: 'files',
    ...overrides,
  };
}
