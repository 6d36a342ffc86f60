import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { convLayers, FEATURE_DIM } from '../builder/architecture.js';
import { buildModel } from '../builder/build-model.js';
import { KerasWeightsError, ModelVerificationError } from '../errors.js';
import { sha256File } from '../sha256.js';
import { loadKerasH5Weights } from './keras-h5.js';
import { loadNpyFolderWeights } from './npy-folder.js';
import { realAssets, realTestOptions } from '../../../test/support/assets.js';
import { maxAbsDiff, randomInputs, randomWeights, runFeatures, tempDir } from '../../../test/support/model-helpers.js';
import { writeKerasH5 } from '../../../test/support/keras-h5-fixture.js';

const tmp = (): string => tempDir('fruits-h5-');

/** Largest |a − b| / (|b| + 1e-6·max|b|) over a layer, so tiny weights do not dominate. */
function relativeDiff(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (Math.abs(b[i]) + 1e-6 * scale));
  return worst;
}

describe('Keras .h5 weights: reading and BatchNorm folding (synthetic weights, no assets)', () => {
  const weights = randomWeights(11, 10);

  test('random BatchNorm in the Keras layout folds back to the weights it was made from; classifier read as is', async () => {
    const file = join(tmp(), 'random-bn.h5');
    await writeKerasH5(file, weights, { bn: 'random', seed: 3, classifier: weights.classifier });
    const loaded = await loadKerasH5Weights(file);
    assert.equal(loaded.source.kind, 'keras-h5');
    assert.equal(loaded.source.sha256, await sha256File(file));
    for (const layer of convLayers()) {
      const got = loaded.weights.layers.get(layer.id)!;
      const want = weights.layers.get(layer.id)!;
      assert.ok(relativeDiff(got.weight, want.weight) < 1e-5, `${layer.id} weights`);
      assert.ok(maxAbsDiff(got.bias, want.bias) < 1e-5, `${layer.id} bias`);
    }
    assert.equal(loaded.weights.classifier!.classes, 10);
    assert.deepEqual(loaded.weights.classifier!.kernel, weights.classifier!.kernel);
    assert.deepEqual(loaded.weights.classifier!.bias, weights.classifier!.bias);
  });

  test('layer names other than the Keras ones: read by position like Keras load_weights, shapes checked', async () => {
    const file = join(tmp(), 'renamed.h5');
    let n = 0;
    const names = new Map<string, string>();
    await writeKerasH5(file, weights, { bn: 'identity', layerName: (k) => names.get(k) ?? (names.set(k, `layer_${n++}`), names.get(k)!) });
    const loaded = await loadKerasH5Weights(file);
    for (const layer of convLayers()) assert.deepEqual(loaded.weights.layers.get(layer.id)!.weight, weights.layers.get(layer.id)!.weight, layer.id);
    assert.equal(loaded.weights.classifier, undefined);
  });

  test('a file that is not MobileNetV2 1.0 is refused with the layer that does not fit', async () => {
    const file = join(tmp(), 'broken.h5');
    await writeKerasH5(file, randomWeights(1), {
      bn: 'identity',
      kernelOverride: { block_7_expand: { data: new Float32Array(64 * 10), shape: [1, 1, 64, 10] } },
    });
    await assert.rejects(
      loadKerasH5Weights(file),
      (e: Error) => e instanceof KerasWeightsError && /block_7_expand: kernel has shape \[1,1,64,10\], expected \[1,1,64,384\]/.test(e.message),
    );
    await assert.rejects(loadKerasH5Weights(join(tmp(), 'missing.h5')), KerasWeightsError);
  });
});

describe('Keras .h5 weights → ONNX, against the prebuilt model (real assets)', realTestOptions(), () => {
  const assets = realAssets();
  const prebuilt = assets ? join(assets.modelDir, 'mobilenet_v2_1.0_224_keras_features_nhwc.onnx') : '';
  const npy = assets ? loadNpyFolderWeights(join(assets.modelDir, 'mobilenet_v2_1.0_224_nhwc_weights')).weights : undefined;
  const env = { FRUITS_MODEL_DIR: assets?.modelDir };

  test('identity BatchNorm: the .h5 build behaves bit for bit like the prebuilt model', async () => {
    const dir = tmp();
    const h5 = join(dir, 'mobilenet_v2_identity_bn.h5');
    await writeKerasH5(h5, npy!, { bn: 'identity' });
    const built = await buildModel({ from: h5, out: join(dir, 'model.onnx'), env });
    assert.equal(built.sidecar.source.kind, 'keras-h5');
    assert.equal(built.sidecar.source.sha256, await sha256File(h5));
    assert.deepEqual(
      built.sidecar.verification.checks.map((c) => [c.name, c.status]),
      [
        ['synthetic', 'passed'],
        ['reference', 'passed'],
      ],
    );
    const input = randomInputs(2, 77);
    const diff = maxAbsDiff((await runFeatures(built.path, input, 2)).features, (await runFeatures(prebuilt, input, 2)).features);
    assert.equal(diff, 0);
  });

  test('random BatchNorm + classifier: features within 1e-4 of the prebuilt model, logits = features · W + b', async () => {
    const dir = tmp();
    const h5 = join(dir, 'mobilenet_v2_random_bn_top.h5');
    const head = randomWeights(5, 1000).classifier!;
    await writeKerasH5(h5, npy!, { bn: 'random', seed: 17, classifier: head });
    const built = await buildModel({ from: h5, out: join(dir, 'model.onnx'), env });
    assert.equal(built.sidecar.verification.passed, true);
    assert.deepEqual(
      built.sidecar.verification.outputs.map((o) => [o.name, o.shape.join(',')]),
      [
        ['features', 'N,1280'],
        ['logits', 'N,1000'],
      ],
    );
    const input = randomInputs(2, 78);
    const ours = await runFeatures(built.path, input, 2, ['features', 'logits']);
    const theirs = await runFeatures(prebuilt, input, 2);
    const diff = maxAbsDiff(ours.features, theirs.features);
    assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
    const expected = new Float32Array(2 * 1000);
    for (let n = 0; n < 2; n++)
      for (let k = 0; k < 1000; k++) {
        let sum = head.bias[k];
        for (let d = 0; d < FEATURE_DIM; d++) sum += ours.features[n * FEATURE_DIM + d] * head.kernel[d * 1000 + k];
        expected[n * 1000 + k] = sum;
      }
    assert.ok(maxAbsDiff(ours.logits, expected) < 1e-4);
  });

  test('a wrong network (two same-shaped layers swapped) fails verification and nothing is written', async () => {
    const dir = tmp();
    const h5 = join(dir, 'swapped.h5');
    const swapped = { layers: new Map(npy!.layers) };
    swapped.layers.set('block_14_project', npy!.layers.get('block_15_project')!);
    swapped.layers.set('block_15_project', npy!.layers.get('block_14_project')!);
    await writeKerasH5(h5, swapped, { bn: 'identity' });
    const out = join(dir, 'model.onnx');
    await assert.rejects(buildModel({ from: h5, out, env }), (e: Error) => e instanceof ModelVerificationError && /synthetic: FAILED/.test(e.message));
    assert.equal(existsSync(out), false);
    assert.equal(existsSync(`${out}.json`), false);
  });
});
