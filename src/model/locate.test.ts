import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ModelNotFoundError } from './errors.js';
import { DEFAULT_MODEL } from './known-models.js';
import { locateRunModel } from './locate.js';

const sha = (bytes: string) => createHash('sha256').update(bytes).digest('hex');

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'fruits-locate-'));
  const cache = join(root, 'xdg');
  const modelDir = join(root, 'models');
  mkdirSync(join(cache, 'fruits'), { recursive: true });
  mkdirSync(modelDir);
  const recorded = { file: 'run-model.onnx', sha256: sha('the run model'), path: join(root, 'gone', 'run-model.onnx') };
  return { root, cache, modelDir, recorded, env: { XDG_CACHE_HOME: cache } as NodeJS.ProcessEnv };
}

describe("locateRunModel: the run's own model, by the sha256 it recorded", () => {
  test('found at the path the run recorded, with nothing configured', async () => {
    const s = setup();
    mkdirSync(join(s.root, 'gone'));
    writeFileSync(s.recorded.path, 'the run model');
    assert.deepEqual(await locateRunModel(s.recorded, { env: s.env }), { path: s.recorded.path, source: 'run' });
  });

  test('found in FRUITS_MODEL_DIR under its recorded name, or in the cache; a same-named other model is passed over', async () => {
    const s = setup();
    writeFileSync(join(s.modelDir, DEFAULT_MODEL.file), 'another model');
    writeFileSync(join(s.modelDir, 'run-model.onnx'), 'the run model');
    assert.deepEqual(await locateRunModel(s.recorded, { env: { ...s.env, FRUITS_MODEL_DIR: s.modelDir } }), {
      path: join(s.modelDir, 'run-model.onnx'),
      source: 'FRUITS_MODEL_DIR',
    });
    writeFileSync(join(s.cache, 'fruits', DEFAULT_MODEL.file), 'the run model');
    assert.deepEqual(await locateRunModel(s.recorded, { env: s.env }), { path: join(s.cache, 'fruits', DEFAULT_MODEL.file), source: 'cache' });
  });

  test('not found: one message with the sha256, the places looked in, what was there instead, and --model', async () => {
    const s = setup();
    writeFileSync(join(s.modelDir, DEFAULT_MODEL.file), 'another model');
    await assert.rejects(locateRunModel(s.recorded, { env: { ...s.env, FRUITS_MODEL_DIR: s.modelDir } }), (e: Error) => {
      assert.ok(e instanceof ModelNotFoundError);
      assert.match(
        e.message,
        new RegExp(`run-model\\.onnx \\(sha256 ${s.recorded.sha256.slice(0, 16)}…\\) was not found in FRUITS_MODEL_DIR .*the cache .*the recorded path`),
      );
      assert.match(e.message, /found only .*another model, sha256 [0-9a-f]{12}…/);
      assert.match(e.message, /--model PATH/);
      return true;
    });
  });

  test('an explicit --model is used as given (the caller checks its sha256 against the run)', async () => {
    const s = setup();
    const other = join(s.root, 'other.onnx');
    writeFileSync(other, 'another model');
    assert.deepEqual(await locateRunModel(s.recorded, { env: s.env, model: other }), { path: other, source: 'option' });
  });
});
