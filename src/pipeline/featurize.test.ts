import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeParquet, readStringColumn } from '../dataset/parquet.js';
import { normalisation } from '../images/normalize.js';
import type { FeatureExtractor } from '../model/feature-extractor.js';
import { ScatterKernel } from '../pca/matrix-kernels.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { featurizeShard } from './featurize.js';
import type { Shard } from '../dataset/plan.js';
import type { StageContext } from './stage-context.js';

test('featurizeShard: decode time is the wall time reading/decoding was under way, never more than the shard took', async () => {
  const jpeg = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#c03020' } })
    .jpeg()
    .toBuffer();
  // Slow reads (30 ms each, all concurrent): the two batches read ahead of the model overlap each other, which a
  // sum of per-batch times counts twice.
  const input = { uri: 'slow://', read: () => new Promise<Buffer>((resolve) => setTimeout(() => resolve(jpeg), 30)) } as unknown as Storage;
  const dim = 4;
  const extractor = {
    info: { featureDim: dim, inputSize: 8, sha256: 'f'.repeat(64) },
    extract: async (_: Float32Array, n: number) => new Float32Array(n * dim).fill(1),
  } as unknown as FeatureExtractor;
  const scatter = await ScatterKernel.create(1);
  const context = {
    spec: { runId: 'test-run', options: { batchSize: 4 } },
    input,
    output: openStorage(mkdtempSync(join(tmpdir(), 'fruits-featurize-'))),
    extractor,
    scatter,
    decode: { size: 8, maxPixels: 1_000_000 },
    norm: normalisation('keras', 'nhwc'),
  } as unknown as StageContext;
  const keys = Array.from({ length: 16 }, (_, i) => `c/${i}.jpg`);
  const shard = { index: 0, keys, labels: keys.map(() => 'c') } as unknown as Shard;
  try {
    const started = performance.now();
    const result = await featurizeShard(context, shard);
    const wall = performance.now() - started;
    assert.equal(result.images, 16);
    assert.ok(result.timings.decode <= wall, `decode ${result.timings.decode.toFixed(1)} ms > the shard's ${wall.toFixed(1)} ms`);
    assert.ok(result.timings.decode >= 2 * 30 * 0.9, `decode ${result.timings.decode.toFixed(1)} ms: at least two rounds of 30 ms reads`);
    assert.ok(result.timings.inputWait <= result.timings.decode);
  } finally {
    await scatter.close();
  }
});

test('featurizeShard: a file whose name is not valid UTF-8 is an error that says so, not "file disappeared after listing"', async () => {
  const root = mkdtempSync(join(tmpdir(), 'fruits-utf8-'));
  mkdirSync(join(root, 'c'));
  writeFileSync(
    Buffer.concat([Buffer.from(join(root, 'c', 'caf')), Buffer.from([0xe9]), Buffer.from('.jpg')]),
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } })
      .jpeg()
      .toBuffer(),
  );
  const input = openStorage(root);
  const keys: string[] = [];
  for await (const entry of input.list()) keys.push(entry.key);
  assert.equal(keys.length, 1);
  const dim = 4;
  const extractor = {
    info: { featureDim: dim, inputSize: 8, sha256: 'f'.repeat(64) },
    extract: async (_: Float32Array, n: number) => new Float32Array(n * dim),
  } as unknown as FeatureExtractor;
  const scatter = await ScatterKernel.create(1);
  const output = openStorage(mkdtempSync(join(tmpdir(), 'fruits-utf8-out-')));
  const context = {
    spec: { runId: 'r', options: { batchSize: 4 } },
    input,
    output,
    extractor,
    scatter,
    decode: { size: 8, maxPixels: 1_000_000 },
    norm: normalisation('keras', 'nhwc'),
  } as unknown as StageContext;
  try {
    const result = await featurizeShard(context, { index: 0, keys, labels: ['c'] } as unknown as Shard);
    assert.equal(result.errors, 1);
    const messages = readStringColumn(decodeParquet(await output.read('errors/part-00000.parquet')), 'message');
    assert.match(messages[0], /file name is not valid UTF-8/);
  } finally {
    await scatter.close();
  }
});
