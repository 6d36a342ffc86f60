import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GraphBuilder } from '../onnx/graph-builder.js';
import { realAssets, realTestOptions } from '../../test/support/assets.js';
import { tinyModelBytes } from '../../test/support/tiny-model.js';
import { REFERENCE_GOLDEN } from './builder/golden.js';
import { ModelChecksumError, ModelContractError, ModelNotFoundError } from './errors.js';
import { FeatureExtractor } from './feature-extractor.js';
import { KERAS_FEATURES_NHWC } from './known-models.js';
import { readNpy } from './weights/npy.js';

const dir = mkdtempSync(join(tmpdir(), 'fruits-model-'));

function write(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

test('the tiny model satisfies the contract: NHWC input, 1280-d features, Keras preprocessing', async () => {
  const extractor = await FeatureExtractor.open(write('tiny.onnx', tinyModelBytes()));
  assert.deepEqual(
    [extractor.info.inputName, extractor.info.outputName, extractor.info.layout, extractor.info.preprocessing, extractor.info.featureDim],
    ['input', 'features', 'nhwc', 'keras', 1280],
  );
  const features = await extractor.extract(new Float32Array(2 * 224 * 224 * 3).fill(0.5), 2);
  assert.equal(features.length, 2 * 1280);
  await extractor.close();
});

test('a wrong model stops with a message that says what the pipeline needs', async () => {
  const classifier = new GraphBuilder('classifier')
    .input('input', 'float', ['N', 224, 224, 3])
    .output('logits', 'float', ['N', 1000])
    .initializer('w', new Float32Array(147 * 1000), [147, 1000])
    .node('Transpose', ['input'], ['t'], { perm: [0, 3, 1, 2] })
    .node('AveragePool', ['t'], ['p'], { kernel_shape: [32, 32], strides: [32, 32] })
    .node('Flatten', ['p'], ['f'], { axis: 1 })
    .node('MatMul', ['f', 'w'], ['logits']);
  await assert.rejects(FeatureExtractor.open(write('classifier.onnx', classifier.toBytes())), (error: Error) => {
    assert.ok(error instanceof ModelContractError);
    assert.match(error.message, /not the 1280-d pooled features/);
    return true;
  });
  const wrongInput = new GraphBuilder('grey')
    .input('input', 'float', ['N', 224, 224, 1])
    .output('features', 'float', ['N', 224, 224, 1])
    .node('Identity', ['input'], ['features']);
  await assert.rejects(FeatureExtractor.open(write('grey.onnx', wrongInput.toBytes())), /input "input" has shape \[N,224,224,1\]/);
  await assert.rejects(FeatureExtractor.open(write('garbage.onnx', Buffer.from('not onnx'))), ModelContractError);
  await assert.rejects(FeatureExtractor.open(join(dir, 'absent.onnx')), ModelNotFoundError);
});

test('a file named like the pinned model must have its sha256', async () => {
  const path = write(KERAS_FEATURES_NHWC.file, tinyModelBytes());
  await assert.rejects(FeatureExtractor.open(path), (error: Error) => {
    assert.ok(error instanceof ModelChecksumError);
    assert.match(error.message, new RegExp(`expected ${KERAS_FEATURES_NHWC.sha256}`));
    return true;
  });
  await assert.rejects(FeatureExtractor.open(write('tiny2.onnx', tinyModelBytes()), { expectedSha256: '0'.repeat(64) }), ModelChecksumError);
});

test('real model: the golden numbers of SOURCES.md (reference input → features) within 1e-4', realTestOptions(), async () => {
  const { modelDir } = realAssets()!;
  const extractor = await FeatureExtractor.open(join(modelDir, KERAS_FEATURES_NHWC.file));
  const raw = readNpy(join(modelDir, 'mobilenet_v2_1.0_224_nhwc_weights', 'test_data_set', '0', 'input_0.npy'));
  assert.deepEqual(raw.shape, [1, 224, 224, 3]);
  const input = Float32Array.from(raw.data, (x) => x / 127.5 - 1);
  const features = await extractor.extract(input, 1);
  await extractor.close();
  const norm = Math.hypot(...features);
  const sum = features.reduce((s, x) => s + x, 0);
  assert.ok(Math.abs(norm - REFERENCE_GOLDEN.l2Norm) < 1e-4 * REFERENCE_GOLDEN.l2Norm, `L2 norm ${norm}`);
  assert.ok(Math.abs(sum - REFERENCE_GOLDEN.sum) < 1e-4 * REFERENCE_GOLDEN.sum, `sum ${sum}`);
  REFERENCE_GOLDEN.first.forEach((value, i) => assert.ok(Math.abs(features[i] - value) < 1e-4, `features[${i}] = ${features[i]}, expected ${value}`));
});
