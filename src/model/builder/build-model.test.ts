import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { buildModel } from './build-model.js';
import { compareGolden, kerasNormalize, REFERENCE_GOLDEN, SYNTHETIC_GOLDEN, syntheticInput } from './golden.js';
import { buildMobileNetV2Onnx } from './mobilenet-v2-graph.js';
import { readSidecar } from './sidecar.js';
import { verifyModel } from './verify.js';
import { FeatureExtractor } from '../feature-extractor.js';
import { sha256Bytes } from '../sha256.js';
import { readNpy } from '../weights/npy.js';
import { loadNpyFolderWeights } from '../weights/npy-folder.js';
import { realAssets, realTestOptions } from '../../../test/support/assets.js';
import { maxAbsDiff, randomInputs, runFeatures, tempDir } from '../../../test/support/model-helpers.js';

const PREBUILT = 'mobilenet_v2_1.0_224_keras_features_nhwc.onnx';
const NPY_FOLDER = 'mobilenet_v2_1.0_224_nhwc_weights';

describe('MobileNetV2 builder from the .npy weights folder (real assets)', realTestOptions(), () => {
  const assets = realAssets();
  const modelDir = assets?.modelDir ?? '';
  const folder = join(modelDir, NPY_FOLDER);
  const prebuilt = join(modelDir, PREBUILT);
  const loaded = assets ? loadNpyFolderWeights(folder) : undefined;
  const bytes = loaded ? buildMobileNetV2Onnx(loaded.weights) : new Uint8Array();

  test('same graph as the prebuilt model: same ops in the same order, byte-identical initializers', () => {
    const { onnx } = onnxProto;
    const ours = onnx.ModelProto.decode(bytes).graph!;
    const theirs = onnx.ModelProto.decode(readFileSync(prebuilt)).graph!;
    const nodes = (g: typeof ours) => g.node ?? [];
    const inits = (g: typeof ours) => g.initializer ?? [];
    const ops = (g: typeof ours): string =>
      nodes(g)
        .map((n) => n.opType)
        .filter((op) => op !== 'Identity')
        .join(',');
    assert.equal(ops(ours), ops(theirs));
    assert.equal(inits(ours).length, 106);
    inits(ours).forEach((t, i) => {
      const other = inits(theirs)[i];
      assert.deepEqual((t.dims ?? []).map(Number), (other.dims ?? []).map(Number), `${t.name} vs ${other.name}`);
      assert.ok(Buffer.from(t.rawData!).equals(Buffer.from(other.rawData!)), `${t.name} differs from ${other.name}`);
    });
    // Same pads on the same convs (TF SAME: stride-2 pads only bottom/right).
    const pads = (g: typeof ours): string =>
      nodes(g)
        .filter((n) => n.opType === 'Conv')
        .map((n) => (n.attribute ?? []).find((a) => a.name === 'pads')!.ints!.join(' '))
        .join('|');
    assert.equal(pads(ours), pads(theirs));
  });

  test('features equal the prebuilt model on random inputs (max abs diff ≤ 1e-5; in fact bit-identical)', async () => {
    const input = randomInputs(3, 2024);
    const [a, b] = [await runFeatures(bytes, input, 3), await runFeatures(prebuilt, input, 3)];
    const diff = maxAbsDiff(a.features, b.features);
    assert.ok(diff <= 1e-5, `max abs diff ${diff}`);
    assert.equal(diff, 0);
  });

  test('golden numbers: SOURCES.md reference input and the synthetic input', async () => {
    const pixels = readNpy(join(folder, 'test_data_set', '0', 'input_0.npy'));
    assert.deepEqual(pixels.shape, [1, 224, 224, 3]);
    const reference = await runFeatures(bytes, kerasNormalize(pixels.data), 1);
    const r = compareGolden(reference.features, REFERENCE_GOLDEN);
    assert.ok(r.passed, JSON.stringify(r));
    // The SOURCES.md numbers, at their printed precision.
    assert.ok(Math.abs(r.actual.l2Norm - 32.6341) < 1e-4 && Math.abs(r.actual.sum - 468.9739) < 1e-3, JSON.stringify(r.actual));
    const synthetic = await runFeatures(bytes, syntheticInput(), 1);
    assert.ok(compareGolden(synthetic.features, SYNTHETIC_GOLDEN).passed);
    // The synthetic numbers must also fail for a different network: the prebuilt ONNX-zoo weights.
    const zoo = readFileSync(join(modelDir, 'mobilenet_v2_1.0_224_onnxzoo_features_nchw.onnx'));
    const session = await ort.InferenceSession.create(zoo);
    const nchw = new Float32Array(224 * 224 * 3);
    const x = syntheticInput();
    for (let c = 0; c < 3; c++) for (let p = 0; p < 224 * 224; p++) nchw[c * 224 * 224 + p] = x[p * 3 + c];
    const other = await session.run({ input: new ort.Tensor('float32', nchw, [1, 3, 224, 224]) });
    assert.equal(compareGolden(other.features.data as Float32Array, SYNTHETIC_GOLDEN).passed, false);
    await session.release();
  });

  test('the prebuilt model passes verification too (the pinned synthetic numbers came from it)', async () => {
    const report = await verifyModel(prebuilt, { referenceInput: join(folder, 'test_data_set', '0', 'input_0.npy') });
    assert.ok(report.passed, JSON.stringify(report.checks));
    assert.deepEqual(
      report.checks.map((c) => [c.name, c.status]),
      [
        ['synthetic', 'passed'],
        ['reference', 'passed'],
      ],
    );
  });

  test('building is deterministic: same weights, same bytes', () => {
    const again = buildMobileNetV2Onnx(loadNpyFolderWeights(folder).weights);
    assert.equal(sha256Bytes(again), sha256Bytes(bytes));
  });

  test('buildModel writes the model and its sidecar; FeatureExtractor opens it and agrees with the prebuilt model', async () => {
    const out = join(tempDir('fruits-build-'), 'mnv2.onnx');
    const phases: string[] = [];
    const built = await buildModel({ from: folder, out, env: {}, onProgress: (e) => phases.push(`${e.phase}:${e.done}/${e.total}`) });
    assert.deepEqual(phases, ['build:0/2', 'build:1/2', 'build:2/2', 'verify:0/1', 'verify:1/1']);
    assert.ok(existsSync(out));
    const sidecar = readSidecar(out)!;
    assert.equal(sidecar.model.sha256, built.sha256);
    assert.equal(sidecar.model.sha256, sha256Bytes(readFileSync(out)));
    assert.equal(sidecar.source.kind, 'npy-folder');
    assert.equal(sidecar.source.sha256, loaded!.source.sha256);
    assert.equal(sidecar.verification.passed, true);
    assert.deepEqual(
      sidecar.verification.checks.map((c) => c.status),
      ['passed', 'passed'],
      'the reference input is found inside the .npy folder',
    );
    const extractor = await FeatureExtractor.open(out);
    try {
      assert.equal(extractor.info.layout, 'nhwc');
      assert.equal(extractor.info.preprocessing, 'keras');
      const input = randomInputs(2, 5);
      const ours = await extractor.extract(input, 2);
      const theirs = await runFeatures(prebuilt, input, 2);
      assert.equal(maxAbsDiff(ours, theirs.features), 0);
    } finally {
      await extractor.close();
    }
  });
});

describe('buildModel output names', () => {
  test('refuses to write under the name of a known model (its pinned sha256 would refuse the built file)', async () => {
    const out = join(tempDir('fruits-build-'), PREBUILT);
    await assert.rejects(buildModel({ from: '/nonexistent', out }), /pinned sha256.*\.built\.onnx/);
    assert.equal(existsSync(out), false);
  });
});
