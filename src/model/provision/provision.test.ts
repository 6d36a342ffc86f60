import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readSidecar } from '../builder/sidecar.js';
import { ModelVerificationError } from '../errors.js';
import { ModelChecksumError, ModelNotFoundError } from '../errors.js';
import { FeatureExtractor } from '../feature-extractor.js';
import { BUILT_MODEL_FILE, builtModelPath, ensureModel, type EnsureModelOptions, type ProvisionProgress, type PublishedWeightsFile } from './index.js';
import { sha256Bytes } from '../sha256.js';
import { loadNpyFolderWeights } from '../weights/npy-folder.js';
import { realAssets, realTestOptions } from '../../../test/support/assets.js';
import { writeTinyModel } from '../../../test/support/tiny-model.js';
import { maxAbsDiff, randomInputs, randomWeights, runFeatures, tempDir } from '../../../test/support/model-helpers.js';
import { writeKerasH5 } from '../../../test/support/keras-h5-fixture.js';
import { closedPort, startWeightsServer, type WeightsServer } from '../../../test/support/weights-server.js';

const tmp = (): string => tempDir('fruits-provision-');
const GOOD = 'good_no_top.h5';
const RANDOM = 'random_no_top.h5';

describe('ensureModel: first use provisions the model (local HTTP server, no internet)', () => {
  let server: WeightsServer;
  let randomH5: Uint8Array;
  before(async () => {
    const file = join(tmp(), RANDOM);
    await writeKerasH5(file, randomWeights(3), { bn: 'random' });
    randomH5 = readFileSync(file);
    server = await startWeightsServer({ [RANDOM]: randomH5 });
  });
  after(async () => {
    await server.close();
  });
  const envFor = (baseUrl: string): NodeJS.ProcessEnv => ({ XDG_CACHE_HOME: tmp(), FRUITS_WEIGHTS_BASE_URL: baseUrl });
  const quick: EnsureModelOptions['download'] = { attempts: 1, retryDelayMs: 10 };

  test('a model the user already has is returned as is: nothing is downloaded', async () => {
    const model = writeTinyModel(join(tmp(), 'tiny.onnx'));
    server.requests.length = 0;
    const env = { ...envFor(server.baseUrl), FRUITS_MODEL: model };
    assert.deepEqual(await ensureModel({ env }), { path: model, source: 'FRUITS_MODEL' });
    assert.deepEqual(await ensureModel({ env: envFor(server.baseUrl), model }), { path: model, source: 'option' });
    await assert.rejects(ensureModel({ env: envFor(server.baseUrl), model: join(tmp(), 'missing.onnx') }), ModelNotFoundError);
    assert.equal(server.requests.length, 0);
  });

  test('no network: ModelNotFoundError with one message naming --model PATH and "connect and rerun"', async () => {
    const env = envFor(`http://127.0.0.1:${await closedPort()}/`);
    await assert.rejects(ensureModel({ env, download: quick }), (e: Error) => {
      assert.ok(e instanceof ModelNotFoundError, e.name);
      assert.match(e.message, /--model PATH/);
      assert.match(e.message, /connect to the internet and rerun/);
      assert.match(e.message, /ECONNREFUSED/);
      assert.equal(e.message.split('\n').length, 1);
      return true;
    });
    assert.equal(existsSync(builtModelPath(env)), false);
  });

  test('server error: ModelNotFoundError that says HTTP 500; wrong file: ModelChecksumError', async () => {
    const env = envFor(server.baseUrl);
    const weights: PublishedWeightsFile = { file: RANDOM, bytes: randomH5.length, sha256: 'a'.repeat(64), includesClassifier: false };
    server.control.status = 500;
    await assert.rejects(ensureModel({ env, weights, download: quick }), (e: Error) => e instanceof ModelNotFoundError && /HTTP 500/.test(e.message));
    server.control.status = undefined;
    await assert.rejects(ensureModel({ env, weights, download: quick }), ModelChecksumError);
    assert.equal(existsSync(builtModelPath(env)), false);
  });

  test('weights without a pinned hash that build a wrong network: verification fails, nothing is cached or kept', async () => {
    const env = envFor(server.baseUrl);
    const weights: PublishedWeightsFile = { file: RANDOM, bytes: randomH5.length, includesClassifier: false };
    await assert.rejects(ensureModel({ env, weights, download: quick }), ModelVerificationError);
    assert.equal(existsSync(builtModelPath(env)), false);
    assert.deepEqual(readdirSync(join(env.XDG_CACHE_HOME!, 'fruits', 'downloads')), []);
  });
});

describe('ensureModel end to end with Keras-layout weights made from the .npy folder (real assets)', realTestOptions(), () => {
  const assets = realAssets();
  let server: WeightsServer;
  let h5: Uint8Array;
  let weights: PublishedWeightsFile;
  before(async () => {
    if (!assets) return;
    const file = join(tmp(), GOOD);
    await writeKerasH5(file, loadNpyFolderWeights(join(assets.modelDir, 'mobilenet_v2_1.0_224_nhwc_weights')).weights, { bn: 'random', seed: 8 });
    h5 = readFileSync(file);
    weights = { file: GOOD, bytes: h5.length, sha256: sha256Bytes(h5), includesClassifier: false };
    server = await startWeightsServer({ [GOOD]: h5 });
  });
  after(async () => {
    await server?.close();
  });

  test('interrupted download → clear error; rerun resumes, builds, verifies, caches; later calls reuse or rebuild', async () => {
    const env: NodeJS.ProcessEnv = { XDG_CACHE_HOME: tmp(), FRUITS_WEIGHTS_BASE_URL: server.baseUrl };
    const download = { attempts: 1, retryDelayMs: 10 };
    server.control.truncateOnce = Math.floor(h5.length / 3);
    await assert.rejects(ensureModel({ env, weights, download }), (e: Error) => e instanceof ModelNotFoundError && /interrupted/.test(e.message));

    const phases: ProvisionProgress['phase'][] = [];
    const located = await ensureModel({ env, weights, download, onProgress: (e) => phases.at(-1) !== e.phase && phases.push(e.phase) });
    assert.deepEqual(located, { path: join(env.XDG_CACHE_HOME!, 'fruits', BUILT_MODEL_FILE), source: 'cache' });
    assert.deepEqual(phases, ['download', 'build', 'verify']);
    assert.match(server.requests.at(-1)!.range ?? '', /^bytes=\d+-$/);
    assert.equal(server.requests.at(-1)!.status, 206);

    const sidecar = readSidecar(located.path)!;
    assert.equal(sidecar.model.sha256, sha256Bytes(readFileSync(located.path)));
    assert.deepEqual(sidecar.source.download, { url: `${server.baseUrl}${GOOD}`, bytes: h5.length, pinnedSha256: weights.sha256 });
    assert.equal(sidecar.source.kind, 'keras-h5');
    assert.equal(sidecar.source.sha256, weights.sha256);
    assert.equal(sidecar.verification.passed, true);
    // No test_data_set on a stranger's machine (no FRUITS_MODEL_DIR here): the synthetic check vouches, and says so.
    assert.deepEqual(
      sidecar.verification.checks.map((c) => [c.name, c.status]),
      [
        ['synthetic', 'passed'],
        ['reference', 'skipped'],
      ],
    );

    // The pipeline opens it (its name is not the prebuilt one, so no pinned-hash clash) and gets the same features.
    const extractor = await FeatureExtractor.open(located.path);
    const input = randomInputs(2, 9);
    const features = await extractor.extract(input, 2);
    await extractor.close();
    const prebuilt = join(assets!.modelDir, 'mobilenet_v2_1.0_224_keras_features_nhwc.onnx');
    assert.ok(maxAbsDiff(features, (await runFeatures(prebuilt, input, 2)).features) <= 1e-4);

    const requests = server.requests.length;
    assert.deepEqual(await ensureModel({ env, weights }), located);
    assert.equal(server.requests.length, requests, 'a cached, intact model is reused without a request');

    const firstSha = sidecar.model.sha256;
    appendFileSync(located.path, 'x'); // damaged: no longer matches its sidecar
    assert.deepEqual(await ensureModel({ env, weights }), located);
    assert.equal(server.requests.length, requests, 'rebuilt from the cached download');
    assert.equal(sha256Bytes(readFileSync(located.path)), firstSha, 'the same weights build the same bytes');
  });
});
