import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { runCli, signalWhenExists } from '../support/cli.js';
import { duckdbQuery } from '../support/duckdb.js';
import { pngBomb, writeImageFolder } from '../support/synthetic-images.js';
import { writeTinyModel } from '../support/tiny-model.js';

const work = mkdtempSync(join(tmpdir(), 'fruits-e2e-'));
const model = join(work, 'tiny.onnx');
const input = join(work, 'input');
const isRoot = process.getuid?.() === 0;
// Unreadable files only stay unreadable for a non-root reader: as root, the CLI runs as `nobody`.
const asUser = isRoot ? { uid: 65534, gid: 65534 } : {};

before(async () => {
  writeTinyModel(model);
  await writeImageFolder(input, { classes: 3, perClass: 7 });
  // Bad inputs, one of each kind the pipeline must record and survive.
  const bad = join(input, 'Class A 1');
  writeFileSync(join(bad, 'zero.jpg'), Buffer.alloc(0));
  writeFileSync(join(bad, 'text.jpg'), 'this is a text file named .jpg\n');
  writeFileSync(join(bad, 'corrupt.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(500, 0x42)]));
  const png = await sharp({ create: { width: 80, height: 80, channels: 3, background: '#3a7' } })
    .png()
    .toBuffer();
  writeFileSync(join(bad, 'truncated.png'), png.subarray(0, png.length - 40));
  writeFileSync(join(bad, 'bomb.png'), pngBomb());
  writeFileSync(join(bad, 'locked.jpg'), readFileSync(join(bad, '0_100.jpg')));
  chmodSync(join(bad, 'locked.jpg'), 0o000);
  // Not images: skipped by the extension filter, never reported as errors.
  writeFileSync(join(input, 'README.txt'), 'notes');
  writeFileSync(join(bad, 'notes.json'), '{}');
  // Upper-case extension and a greyscale PNG are images.
  writeFileSync(join(input, 'Class B 1', 'UPPER.JPG'), readFileSync(join(input, 'Class B 1', '0_100.jpg')));
  writeFileSync(join(input, 'Class C 1', 'grey.png'), await sharp(png).greyscale().png().toBuffer());
  // The runs below write as `nobody` when the suite runs as root.
  chmodSync(work, 0o777);
});

after(() => {
  chmodSync(join(input, 'Class A 1', 'locked.jpg'), 0o644);
});

function out(name: string): string {
  const dir = join(work, name);
  return dir;
}

function extract(args: string[], extra: Parameters<typeof runCli>[1] = {}) {
  return runCli(['extract', ...args, '--model', model, '--workers', '2', '--batch-size', '4', '--shard-size', '8'], { ...asUser, ...extra });
}

describe('fruits extract on a synthetic folder with the tiny model', () => {
  const good = 3 * 7 + 2; // 21 generated + UPPER.JPG + grey.png
  const badCount = 6;

  test('writes features, results, PCA, errors, manifest and _SUCCESS; bad inputs are recorded, exit code 0', async () => {
    const result = await extract([input, out('run1'), '--pca-k', '5']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /6 image\(s\) failed/);
    assert.match(result.stdout, /23 with features, 6 failed, 29 listed, 3 classes, 4 shards/);
    const dir = out('run1');
    for (const f of ['_SUCCESS', 'manifest.json', 'pca/model.json', 'features/part-00000.parquet', 'results/part-00003.parquet']) {
      assert.ok(existsSync(join(dir, f)), `${f} missing`);
    }
    assert.ok(!existsSync(join(dir, '_tmp')), 'scratch space is removed by the commit');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.counts.features, good);
    assert.equal(manifest.counts.errors, badCount);
    assert.equal(manifest.pca.k, 5);
    assert.deepEqual(manifest.classes, ['Class A 1', 'Class B 1', 'Class C 1']);
    assert.match(manifest.preprocessing.resize, /bilinear/);
    assert.equal(statSync(join(dir, '_SUCCESS')).mtimeMs >= statSync(join(dir, 'manifest.json')).mtimeMs, true);
  });

  test('DuckDB reads the parts: one row per good image, list<float> of 1280 and of k, labels from folders', async () => {
    const dir = out('run1');
    const [features] = await duckdbQuery(
      `select count(*)::int n, count(distinct path)::int paths, min(len(features))::int lo, max(len(features))::int hi,
              bool_and(list_filter(features, x -> isnan(x) or isinf(x)) = []) finite
       from read_parquet('${dir}/features/*.parquet')`,
    );
    assert.deepEqual(features, { n: good, paths: good, lo: 1280, hi: 1280, finite: true });
    const labels = await duckdbQuery(`select label, count(*)::int n from read_parquet('${dir}/results/*.parquet') group by 1 order by 1`);
    assert.deepEqual(labels, [
      { label: 'Class A 1', n: 7 },
      { label: 'Class B 1', n: 8 },
      { label: 'Class C 1', n: 8 },
    ]);
    const [pca] = await duckdbQuery(`select min(len(pca))::int k, typeof(any_value(pca)) t from read_parquet('${dir}/results/*.parquet')`);
    assert.deepEqual(pca, { k: 5, t: 'FLOAT[]' });
    const errors = await duckdbQuery(`select regexp_extract(path, '[^/]+$') file, stage, message from read_parquet('${dir}/errors/*.parquet') order by 1`);
    const byFile = Object.fromEntries(errors.map((e) => [e.file, e]));
    assert.deepEqual(Object.keys(byFile), ['bomb.png', 'corrupt.jpg', 'locked.jpg', 'text.jpg', 'truncated.png', 'zero.jpg']);
    assert.match(String(byFile['zero.jpg'].message), /empty/);
    assert.match(String(byFile['text.jpg'].message), /text, not an image/);
    assert.match(String(byFile['bomb.png'].message), /pixels exceeds the limit/);
    assert.match(String(byFile['corrupt.jpg'].message), /corrupt jpeg/);
    assert.match(String(byFile['truncated.png'].message), /corrupt png/);
    assert.equal(byFile['locked.jpg'].stage, 'read');
    assert.match(String(byFile['locked.jpg'].message), /permission denied/);
  });

  test('fruits inspect summarises the run; --json gives the manifest; a folder without a run is exit 1', async () => {
    const text = await runCli(['inspect', out('run1')]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /23 with features, 6 failed, 29 listed, 3 classes/);
    assert.match(text.stdout, /pca +k = 5/);
    assert.match(text.stdout, /errors +decode: 5, read: 1/);
    const json = await runCli(['inspect', out('run1'), '--json']);
    assert.equal(JSON.parse(json.stdout).counts.features, good);
    const none = await runCli(['inspect', work]);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /holds no fruits run/);
  });

  test('--fail-on-error exits 1 when images failed', async () => {
    const result = await extract([input, out('run-fail'), '--fail-on-error']);
    assert.equal(result.code, 1, result.stderr);
  });

  test('a second run into the same folder is refused; --overwrite replaces it; --resume of a finished run does nothing', async () => {
    const again = await extract([input, out('run1'), '--pca-k', '5']);
    assert.equal(again.code, 5, 'the output-conflict exit code');
    assert.match(again.stderr, /already holds a finished run .*--overwrite/);
    const resumed = await extract([input, out('run1'), '--pca-k', '5', '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /nothing to do/);
    const replaced = await extract([input, out('run1'), '--pca-k', '4', '--overwrite']);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.equal(JSON.parse(readFileSync(join(out('run1'), 'manifest.json'), 'utf8')).pca.k, 4);
  });

  test('a missing input, an empty input, a folder of non-images, a foreign output and a missing model stop with a clear message', async () => {
    const missing = await extract([join(work, 'nope'), out('x1')]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /does not exist/);
    mkdirSync(join(work, 'empty'), { recursive: true });
    const empty = await extract([join(work, 'empty'), out('x2')]);
    assert.match(empty.stderr, /is empty/);
    mkdirSync(join(work, 'docs'), { recursive: true });
    writeFileSync(join(work, 'docs', 'a.txt'), 'x');
    const noImages = await extract([join(work, 'docs'), out('x3')]);
    assert.match(noImages.stderr, /none matches/);
    const foreign = await extract([input, join(work, 'docs')]);
    assert.match(foreign.stderr, /not a fruits run/);
    assert.ok(existsSync(join(work, 'docs', 'a.txt')), 'foreign files are never deleted');
    const noModel = await runCli(['extract', input, out('x4'), '--model', join(work, 'missing.onnx')]);
    assert.equal(noModel.code, 4);
    assert.match(noModel.stderr, /model not found: .*missing\.onnx/);
    const usage = await runCli(['extract', input]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /expected <input> and <output>/);
  });

  test('a corrupt model stops before any work: nothing is written to the output', async () => {
    const corrupt = join(work, 'corrupt.onnx');
    writeFileSync(corrupt, Buffer.from('not a model'));
    const bad = await runCli(['extract', input, out('x6'), '--model', corrupt]);
    assert.equal(bad.code, 4);
    assert.match(bad.stderr, /ModelContractError: cannot load .*corrupt\.onnx/);
    assert.ok(!existsSync(out('x6')), 'the output folder was not even created');
  });

  test('--glob and --label-from choose files and labels', async () => {
    const result = await extract([input, out('glob'), '--glob', 'Class B 1/*.{jpg,JPG}', '--label-from', 'regex:^Class (\\w)', '--pca-k', '2']);
    assert.equal(result.code, 0, result.stderr);
    const rows = await duckdbQuery(`select distinct label from read_parquet('${out('glob')}/features/*.parquet')`);
    assert.deepEqual(rows, [{ label: 'B' }]);
    const [{ n }] = await duckdbQuery(`select count(*)::int n from read_parquet('${out('glob')}/features/*.parquet')`);
    assert.equal(n, 8);
  });

  test('a malformed --glob is bad usage: exit 2, one line naming the pattern, nothing written', async () => {
    const result = await extract([input, out('badglob'), '--glob', '{*.jpg,*.png']);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stderr, 'fruits extract: --glob {*.jpg,*.png: unclosed "{" (write \\{ for a literal one) (see `fruits extract --help`)\n');
    assert.ok(!existsSync(out('badglob')), 'the output folder was not even created');
  });
});

describe('resume after kill -9', () => {
  test('only shards without a part are redone and the output equals an uninterrupted run', async () => {
    const big = join(work, 'big');
    await writeImageFolder(big, { classes: 4, perClass: 20, seed: 9 });
    const args = (dir: string) => ['extract', big, dir, '--model', model, '--workers', '1', '--batch-size', '2', '--shard-size', '8', '--pca-k', '3'];
    const reference = await runCli(args(out('ref')), asUser);
    assert.equal(reference.code, 0, reference.stderr);

    const target = out('killed');
    const killed = await runCli(args(target), { ...asUser, onSpawn: signalWhenExists(join(target, '_tmp', 'featurized', 'part-00001.json'), 'SIGKILL') });
    assert.equal(killed.signal, 'SIGKILL');
    assert.ok(!existsSync(join(target, '_SUCCESS')));
    const firstPart = statSync(join(target, 'features', 'part-00000.parquet')).mtimeMs;

    const unfinished = await runCli(['inspect', target]);
    assert.equal(unfinished.code, 1);
    assert.match(unfinished.stdout, /UNFINISHED/);
    assert.match(unfinished.stdout, /[1-9]\d*\/10 shards featurized/);

    const refused = await runCli(args(target), asUser);
    assert.match(refused.stderr, /unfinished run .*--resume/);
    const resumed = await runCli([...args(target), '--resume'], asUser);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming run/);
    assert.equal(statSync(join(target, 'features', 'part-00000.parquet')).mtimeMs, firstPart, 'finished shard was not redone');

    const compare = (dir: string) =>
      duckdbQuery(
        `select path, label, f.features, r.pca from read_parquet('${dir}/features/*.parquet') f join read_parquet('${dir}/results/*.parquet') r using (path, label) order by path`,
      );
    const [a, b] = [await compare(out('ref')), await compare(target)];
    assert.equal(a.length, 80);
    assert.deepEqual(b, a);
  });
});

test('Ctrl-C stops the run with exit code 130 and a pointer to --resume; the resumed run completes', async () => {
  const target = out('interrupted');
  const many = join(work, 'many');
  await writeImageFolder(many, { classes: 3, perClass: 30, seed: 5 });
  // 90 images in shards of 3 on one thread: the signal arrives long before the last shard.
  const args = ['extract', many, target, '--model', model, '--workers', '1', '--batch-size', '1', '--shard-size', '3', '--pca-k', '2'];
  const interrupted = await runCli(args, { ...asUser, onSpawn: signalWhenExists(join(target, '_tmp', 'featurized', 'part-00000.json'), 'SIGINT') });
  assert.equal(interrupted.code, 130, interrupted.stderr);
  assert.match(interrupted.stderr, /interrupted.*--resume/);
  const resumed = await runCli([...args, '--resume'], asUser);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.ok(existsSync(join(target, '_SUCCESS')));
});

test('symlinked images are followed', async () => {
  const linked = join(work, 'linked', 'Fruit 1');
  mkdirSync(linked, { recursive: true });
  symlinkSync(join(input, 'Class C 1', '0_100.jpg'), join(linked, 'a.jpg'));
  symlinkSync(join(input, 'Class C 1', '1_100.jpg'), join(linked, 'b.jpg'));
  symlinkSync(join(input, 'Class C 1', '2_100.jpg'), join(linked, 'c.jpg'));
  const result = await extract([join(work, 'linked'), out('linked-out'), '--pca-k', '2']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /3 with features, 0 failed/);
});
