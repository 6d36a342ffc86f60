import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Manifest } from '../index.js';
import { counted, formatSummary } from './summary.js';

function manifest(shards: number, classes: number): Manifest {
  return {
    runId: 'r',
    engine: 'local (1 thread × 1 onnxruntime thread)',
    input: 'in',
    output: 'out',
    counts: { listed: 3, features: 3, errors: 0, classes, shards },
    model: { file: 'm.onnx', sha256: '0'.repeat(64), featureDim: 1280 },
    pca: { k: 2, explainedVariance: 0.9, choice: { variance: 0.95 }, top10Ratio: [] },
    throughput: { imagesPerSecond: 1 },
    errors: { byStage: {}, examples: [] },
    timings: {
      totalMs: 1000,
      listMs: 1,
      featurizeMs: 500,
      pcaMergeMs: 1,
      pcaFitMs: 1,
      projectMs: 1,
      commitMs: 1,
      workerMs: { decode: 400, inputWait: 10, inference: 300, moments: 5, write: 5 },
    },
  } as unknown as Manifest;
}

test('summary: "1 shard", "1 class", plural otherwise', () => {
  assert.match(formatSummary(manifest(1, 1)), /3 listed, 1 class, 1 shard\n/);
  assert.match(formatSummary(manifest(2, 3)), /3 listed, 3 classes, 2 shards\n/);
  assert.equal(counted(0, 'shard'), '0 shards');
});

test('summary: the thread figures say what they are (read+decode overlaps inference; summed over the threads)', () => {
  const text = formatSummary(manifest(1, 1));
  assert.match(
    text,
    /read\+decode 0\.40 s \(overlaps inference; the model waited 0\.01 s for input\) \| inference 0\.30 s .*\(each summed over the pipeline threads\)/,
  );
});
