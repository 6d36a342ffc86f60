import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStorage } from '../storage/open-storage.js';
import { prepareRun } from './prepare-run.js';
import { DEFAULT_RUN_OPTIONS } from './run-spec.js';

test('a refused --resume names the option that differs, with both values', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fruits-prepare-'));
  const out = join(dir, 'out');
  mkdirSync(join(out, '_tmp'), { recursive: true });
  const model = { file: 'm.onnx', sha256: 'a'.repeat(64) };
  const spec = { runId: 'r-1', input: join(dir, 'in'), output: out, options: { ...DEFAULT_RUN_OPTIONS, shardSize: 512 }, model, fingerprint: 'old' };
  writeFileSync(join(out, '_tmp', 'plan.json'), JSON.stringify({ spec, images: 0, classes: [], shards: [] }));
  const call = {
    input: openStorage(join(dir, 'in')),
    output: openStorage(out),
    options: { ...DEFAULT_RUN_OPTIONS, shardSize: 256, batchSize: 4 },
    model: { path: '/models/m.onnx', sha256: model.sha256 },
    resume: true,
    overwrite: false,
  };
  await assert.rejects(prepareRun(call), (e: Error) => {
    assert.match(e.message, /--resume cannot continue: --shard-size: the run used 512, this call 256\. Resume it/);
    assert.doesNotMatch(e.message, /batch/i, 'batch size does not decide');
    return true;
  });
});
