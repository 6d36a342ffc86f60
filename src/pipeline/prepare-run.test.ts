import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStorage } from '../storage/open-storage.js';
import { prepareRun } from './prepare-run.js';
import { DEFAULT_RUN_OPTIONS, fingerprint } from '../dataset/run-spec.js';
import { manifestFixture, planFixture } from '../../test/support/run-fixtures.js';

test('a refused --resume names the option that differs, with both values', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fruits-prepare-'));
  const out = join(dir, 'out');
  mkdirSync(join(out, '_tmp'), { recursive: true });
  const model = { file: 'm.onnx', sha256: 'a'.repeat(64) };
  const spec = { runId: 'r-1', input: join(dir, 'in'), output: out, options: { ...DEFAULT_RUN_OPTIONS, shardSize: 512 }, model, fingerprint: 'old' };
  writeFileSync(join(out, '_tmp', 'plan.json'), JSON.stringify(planFixture({ images: 0, classes: [], shards: [] }, spec)));
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

test('--resume of a finished run with a missing part is refused, _SUCCESS kept, when the input no longer lists what the run read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fruits-prepare-'));
  const [input, out] = [join(dir, 'in'), join(dir, 'out')];
  mkdirSync(join(input, 'a'), { recursive: true });
  writeFileSync(join(input, 'a', '1.jpg'), 'x');
  mkdirSync(out, { recursive: true });
  const options = { ...DEFAULT_RUN_OPTIONS };
  const sha256 = 'b'.repeat(64);
  const record = { rows: 1, bytes: 10, sha256: 'c'.repeat(64) };
  const fixture = manifestFixture();
  const manifest = manifestFixture({
    runId: 'r-2',
    fingerprint: fingerprint(input, options, sha256),
    input,
    output: out,
    options,
    model: { ...fixture.model, file: 'm.onnx', sha256 },
    counts: { listed: 1, features: 1, errors: 0, classes: 1, shards: 1 },
    parts: [{ shard: 0, images: 1, featurized: fixture.parts![0].featurized, features: record, results: record }],
    // The digest of another listing: the input changed since the run.
    planSha256: 'd'.repeat(64),
  });
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest));
  writeFileSync(join(out, '_SUCCESS'), '');
  const call = { input: openStorage(input), output: openStorage(out), options, model: { path: '/m.onnx', sha256 }, resume: true, overwrite: false };
  await assert.rejects(prepareRun(call), (e: Error) => {
    assert.match(
      e.message,
      /finished run \(r-2\) with \d+ missing or damaged part\(s\) \(features\/part-00000\.parquet missing.*--resume cannot redo them: the input \S+ is not what the run read .*Restore the input, or use --overwrite/,
    );
    return true;
  });
  assert.ok(existsSync(join(out, '_SUCCESS')), 'nothing is changed');
  assert.ok(!existsSync(join(out, '_tmp')));
});

test('--overwrite takes a run folder holding what serve, identify and train cached in it; a foreign file still stops it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fruits-prepare-'));
  mkdirSync(join(dir, 'in', 'Apple 1'), { recursive: true });
  writeFileSync(join(dir, 'in', 'Apple 1', 'a.jpg'), 'not decoded when planning');
  const out = join(dir, 'out');
  const files = [
    'manifest.json',
    '_SUCCESS',
    'features/part-00000.parquet',
    'pca/model.json',
    'classifier/probe.json',
    'classifier/model.json',
    'augmented/part-00000.parquet',
  ];
  for (const f of files) {
    mkdirSync(join(out, f, '..'), { recursive: true });
    writeFileSync(join(out, f), '{}');
  }
  const call = (output: string) => ({
    input: openStorage(join(dir, 'in')),
    output: openStorage(output),
    options: DEFAULT_RUN_OPTIONS,
    model: { path: '/models/m.onnx', sha256: 'a'.repeat(64) },
    resume: false,
    overwrite: true,
  });
  // It used to say "… is not a fruits run (it holds classifier/probe.json…)": fruits wrote every file there.
  await prepareRun(call(out));
  for (const f of files) assert.ok(!existsSync(join(out, f)), `${f} is gone: it belonged to the run being replaced`);

  const foreign = join(dir, 'foreign');
  mkdirSync(join(foreign, 'classifier'), { recursive: true });
  writeFileSync(join(foreign, 'manifest.json'), '{}');
  writeFileSync(join(foreign, 'notes.txt'), 'mine');
  await assert.rejects(prepareRun(call(foreign)), /is not a fruits run \(it holds notes\.txt/);
  assert.ok(existsSync(join(foreign, 'notes.txt')));
});
