import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { decodeImage } from '../../src/images/decode.js';
import { realAssets, realTestOptions } from '../support/assets.js';
import { runCli } from '../support/cli.js';
import { duckdbQuery } from '../support/duckdb.js';
import { referencePcaViaGram } from '../support/reference-pca.js';
import { pcaModelFromJson } from '../../src/pca/pca-model.js';

/** Leave-one-out nearest neighbour (cosine): the fraction of rows whose nearest other row has the same label. */
function nearestNeighbourAccuracy(vectors: number[][], labels: string[]): number {
  const normed = vectors.map((v) => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  });
  let hits = 0;
  for (let i = 0; i < normed.length; i++) {
    let best = -Infinity;
    let bestIndex = -1;
    for (let j = 0; j < normed.length; j++) {
      if (j === i) continue;
      let dot = 0;
      for (let d = 0; d < normed[i].length; d++) dot += normed[i][d] * normed[j][d];
      if (dot > best) {
        best = dot;
        bestIndex = j;
      }
    }
    if (labels[bestIndex] === labels[i]) hits++;
  }
  return hits / normed.length;
}

describe('real MobileNetV2 on the Fruits-360 sample', realTestOptions(), () => {
  const assets = realAssets();
  const out = join(mkdtempSync(join(tmpdir(), 'fruits-real-')), 'run');

  test('extract: 423 rows of finite, non-constant 1280-d features; neighbours share labels (features ≥ 70%, PCA within 3 points)', async (t) => {
    const result = await runCli(['extract', join(assets!.dataDir, 'fruits-360-sample'), out, '--shard-size', '128', '--quiet'], {
      env: { FRUITS_MODEL_DIR: assets!.modelDir },
    });
    assert.equal(result.code, 0, result.stderr);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    assert.equal(manifest.counts.features, 423);
    assert.equal(manifest.counts.classes, 141);
    assert.equal(manifest.model.sha256, '73c48aa88208260d420af55414e45fdb90969286f2ff64c73d9ab6fff85bf634');

    const rows = await duckdbQuery(
      `select f.label, f.features, r.pca from read_parquet('${out}/features/*.parquet') f
       join read_parquet('${out}/results/*.parquet') r using (path) order by path`,
    );
    assert.equal(rows.length, 423);
    const features = rows.map((r) => r.features as number[]);
    const pca = rows.map((r) => r.pca as number[]);
    const labels = rows.map((r) => r.label as string);
    assert.ok(features.every((f) => f.length === 1280 && f.every(Number.isFinite)));
    const spread = features[0].map((_, d) => Math.max(...features.map((f) => f[d])) - Math.min(...features.map((f) => f[d])));
    assert.ok(spread.filter((s) => s > 1e-3).length > 1000, 'features vary across images');
    assert.ok(
      features.every((f) => Math.max(...f) > 0.5),
      'no all-zero feature rows',
    );

    const onFeatures = nearestNeighbourAccuracy(features, labels);
    const onPca = nearestNeighbourAccuracy(pca, labels);
    t.diagnostic(`leave-one-out 1-NN accuracy: features ${(onFeatures * 100).toFixed(1)}%, PCA (k=${manifest.pca.k}) ${(onPca * 100).toFixed(1)}%`);
    assert.ok(onFeatures >= 0.7, `nearest-neighbour accuracy on features ${onFeatures}`);
    assert.ok(onPca >= onFeatures - 0.03, `on PCA ${onPca} vs features ${onFeatures}`);

    // The run's PCA against an independent computation on the same 423 feature vectors.
    const model = pcaModelFromJson(readFileSync(join(out, 'pca', 'model.json'), 'utf8'));
    const flat = Float32Array.from(features.flat());
    const reference = referencePcaViaGram(flat, features.length, 1280, 10);
    for (let c = 0; c < 10; c++) {
      const relative = Math.abs(model.explainedVariance[c] - reference.variance[c]) / reference.variance[c];
      assert.ok(relative < 1e-6, `component ${c}: ${model.explainedVariance[c]} vs ${reference.variance[c]} (${relative})`);
      let dot = 0;
      for (let j = 0; j < 1280; j++) dot += model.components[c * 1280 + j] * reference.components[c][j];
      assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-4, `component ${c}: |cos| ${Math.abs(dot)}`);
    }
  });
});

describe('preprocessing end to end with the ImageNet head', realTestOptions(), () => {
  const assets = realAssets();
  const expected: [string, string][] = [
    ['Bananas(lady_finger)1.jpg', 'banana'],
    ['apple.jpg', 'Granny Smith'],
    ['pomegranate.jpg', 'pomegranate'],
  ];

  test('real photos decoded by the pipeline are classified as their fruit by the int8 MobileNetV2', async () => {
    const labels = readFileSync(join(assets!.modelDir, 'imagenet_labels_1000.txt'), 'utf8').trim().split('\n');
    const session = await ort.InferenceSession.create(join(assets!.modelDir, 'mobilenet_v2_1.0_224_int8_per_tensor.onnx'));
    for (const [file, label] of expected) {
      const image = await decodeImage(readFileSync(join(assets!.dataDir, 'real-photos', file)));
      assert.deepEqual([image.rgbWidth, image.rgbHeight], [224, 224], 'phone photos are shrunk by the decoder');
      const input = new ort.Tensor('uint8', new Uint8Array(image.rgb), [1, 224, 224, 3]);
      const output = await session.run({ [session.inputNames[0]]: input });
      const scores = output[session.outputNames[0]].data as Float32Array;
      const top = scores.indexOf(Math.max(...scores));
      assert.equal(labels[top].trim(), label, `${file}: top-1 ${labels[top]}`);
    }
    await session.release();
  });
});
