import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { runCli, signalWhenExists } from '../support/cli.js';
import { duckdbQuery } from '../support/duckdb.js';
import { writeImageFolder } from '../support/synthetic-images.js';
import { writeTinyModel } from '../support/tiny-model.js';

// Issue 10, items 4-5: parts that are lost or cut short after they were written are found by `inspect --verify`
// and redone by `--resume`, for a killed run and for a finished one.
const work = mkdtempSync(join(tmpdir(), 'fruits-verify-'));
const model = join(work, 'tiny.onnx');
const input = join(work, 'input');
const reference = join(work, 'reference');
// 3 classes × 8 images + 1 file that does not decode = 25 images, 4 shards of 8 (the last one holds 1 image).
const images = 24;

function extract(output: string, ...extra: string[]) {
  return runCli(['extract', input, output, '--model', model, '--workers', '1', '--batch-size', '4', '--shard-size', '8', '--pca-k', '3', ...extra]);
}

const rows = async (dir: string, part: 'features' | 'results') =>
  Number((await duckdbQuery(`select count(*)::int n from read_parquet('${dir}/${part}/*.parquet')`))[0].n);
/** What a run holds, as DuckDB reads it: every row of features joined with results, in path order. */
const contents = (dir: string) =>
  duckdbQuery(
    `select path, label, f.features, r.pca from read_parquet('${dir}/features/*.parquet') f join read_parquet('${dir}/results/*.parquet') r using (path, label) order by path`,
  );

function copyOfReference(name: string): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  cpSync(reference, dir, { recursive: true });
  return dir;
}

before(async () => {
  writeTinyModel(model);
  await writeImageFolder(input, { classes: 3, perClass: 8, seed: 4 });
  writeFileSync(join(input, 'Class A 1', 'text.jpg'), 'not an image\n');
  const made = await extract(reference);
  assert.equal(made.code, 0, made.stderr);
});

describe('fruits inspect --verify', () => {
  test('a sound run: exit 0 and a "verified" line; --resume says nothing to do', async () => {
    const verified = await runCli(['inspect', reference, '--verify']);
    assert.equal(verified.code, 0, verified.stderr);
    // 4 features + 4 results + 1 errors part + pca/model.json
    assert.match(verified.stdout, /verified +all 10 parts verified against the manifest \(24 feature rows/);
    const resumed = await extract(reference, '--resume');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /all 10 parts verified.*nothing to do/);
    const manifest = JSON.parse(readFileSync(join(reference, 'manifest.json'), 'utf8'));
    assert.deepEqual(
      manifest.parts.map((p: { features: { rows: number } }) => p.features.rows),
      [8, 7, 8, 1],
    );
    assert.equal(manifest.parts[1].errors.rows, 1);
    assert.equal(manifest.parts[2].features.bytes, statSync(join(reference, 'features', 'part-00002.parquet')).size);
  });

  test('a deleted, a truncated and an altered part: exit 1, each named; then --resume redoes those shards and the run verifies', async () => {
    const dir = copyOfReference('damaged');
    rmSync(join(dir, 'features', 'part-00001.parquet'));
    const truncated = join(dir, 'features', 'part-00002.parquet');
    truncateSync(truncated, statSync(truncated).size - 100);
    // Same size, other bytes (a flipped byte in a page): only the sha256 recorded at commit finds it.
    const altered = join(dir, 'results', 'part-00000.parquet');
    const bytes = readFileSync(altered);
    bytes[100] ^= 0xff;
    writeFileSync(altered, bytes);
    const untouched = statSync(join(dir, 'features', 'part-00003.parquet')).mtimeMs;

    // Plain inspect lists the parts (no reads): the deleted and the truncated one are found, not the altered one.
    const listed = await runCli(['inspect', dir]);
    assert.equal(listed.code, 1, listed.stderr);
    assert.match(
      listed.stderr,
      /MISSING +\S*damaged\/features\/part-00001\.parquet\nDAMAGED +\S*damaged\/features\/part-00002\.parquet: cut short: \d+ bytes, \d+ were written\n2 part\(s\) of run \S+ missing/,
    );

    const failed = await runCli(['inspect', dir, '--verify', '--json']);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /MISSING +\S*damaged\/features\/part-00001\.parquet\n/);
    assert.match(failed.stderr, /DAMAGED +\S*damaged\/features\/part-00002\.parquet: cut short: \d+ bytes, \d+ were written\n/);
    assert.match(failed.stderr, /DAMAGED +\S*damaged\/results\/part-00000\.parquet: altered: its sha256 is/);
    assert.match(failed.stderr, /verification FAILED: 3 of 10 parts missing or damaged .*--resume/);
    const { verification } = JSON.parse(failed.stdout);
    assert.deepEqual([verification.refeaturize, verification.reproject], [[1, 2], [0]]);

    const resumed = await extract(dir, '--resume');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /fails verification: 3 part\(s\) missing or damaged, redone now/);
    assert.match(resumed.stderr, /features\/part-00001\.parquet missing/);
    assert.ok(existsSync(join(dir, '_SUCCESS')));
    assert.ok(!existsSync(join(dir, '_tmp')));
    assert.equal(statSync(join(dir, 'features', 'part-00003.parquet')).mtimeMs, untouched, 'a sound shard is not redone');

    const verified = await runCli(['inspect', dir, '--verify']);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /all 10 parts verified/);
    assert.equal(await rows(dir, 'features'), images);
    // Extraction is deterministic: the redone shards hold the same floats as first written, so the PCA model
    // kept is the one all the data gives, and the results equal the reference's.
    assert.deepEqual(await contents(dir), await contents(reference));
  });
});

describe('run files that do not read back', () => {
  test('a manifest or plan of the wrong shape: one line naming the file and the field, exit 1 (it was a TypeError)', async () => {
    const dir = join(work, 'bad-run-files');
    cpSync(reference, dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    delete manifest.counts;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const finished = await runCli(['inspect', dir]);
    assert.equal(finished.code, 1, finished.stderr);
    assert.match(finished.stderr, /bad-run-files\/manifest\.json is not a fruits manifest: counts: missing/);
    assert.doesNotMatch(finished.stderr, /TypeError/);
    assert.equal(finished.stderr.trimEnd().split('\n').length, 1, finished.stderr);

    rmSync(join(dir, '_SUCCESS'));
    mkdirSync(join(dir, '_tmp'));
    writeFileSync(join(dir, '_tmp', 'plan.json'), JSON.stringify({ spec: {}, images: 3 }));
    const unfinished = await runCli(['inspect', dir]);
    assert.equal(unfinished.code, 1, unfinished.stderr);
    assert.match(unfinished.stderr, /_tmp\/plan\.json is not a fruits plan: spec\.runId: missing; spec\.input: missing/);
    assert.doesNotMatch(unfinished.stderr, /TypeError/);
  });
});

describe('--resume redoes parts that do not read back', () => {
  test('a deleted pca/model.json: every shard is featurized again (the moments are gone), same output', async () => {
    const dir = copyOfReference('no-pca');
    rmSync(join(dir, 'pca', 'model.json'));
    const resumed = await extract(dir, '--resume');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /pca\/model\.json missing/);
    assert.deepEqual(await contents(dir), await contents(reference));
  });

  test('a killed run whose featurized shard was then cut short: --resume redoes that shard (it used to fail on "Corrupt footer")', async () => {
    const dir = join(work, 'killed');
    const killed = await runCli(['extract', input, dir, '--model', model, '--workers', '1', '--batch-size', '4', '--shard-size', '8', '--pca-k', '3'], {
      onSpawn: signalWhenExists(join(dir, '_tmp', 'featurized', 'part-00001.json'), 'SIGKILL'),
    });
    assert.equal(killed.signal, 'SIGKILL');
    const part = join(dir, 'features', 'part-00000.parquet');
    truncateSync(part, statSync(part).size - 8);
    const resumed = await extract(dir, '--resume');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /redo: features\/part-00000\.parquet cut short: \d+ bytes, \d+ were written: its shard is featurized again/);
    // The commit checks every part before _SUCCESS: a run that ends with exit 0 verified.
    assert.ok(existsSync(join(dir, '_SUCCESS')));
    assert.equal(await rows(dir, 'features'), images);
    assert.deepEqual(await contents(dir), await contents(reference));
  });
});
