import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { runCli, signalWhenExists } from '../support/cli.js';
import { duckdbQuery } from '../support/duckdb.js';
import { writeImageFolder } from '../support/synthetic-images.js';
import { writeTinyModel } from '../support/tiny-model.js';

// Inputs beyond one file per image (issue 13 item 1): WebDataset tars and Parquet image tables, made by `fruits pack`
// and by independent writers (GNU tar, DuckDB), must give what the equivalent folder gives.
const work = mkdtempSync(join(tmpdir(), 'fruits-containers-'));
const model = join(work, 'tiny.onnx');
const folder = join(work, 'folder');
const CORRUPT = 'Class A 1/corrupt.jpg';
let images: string[] = [];

before(async () => {
  writeTinyModel(model);
  images = await writeImageFolder(folder, { classes: 3, perClass: 5 });
  writeFileSync(join(folder, CORRUPT), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(300, 0x42)]));
});

function extract(input: string, output: string, extra: string[] = [], options: Parameters<typeof runCli>[1] = {}) {
  return runCli(
    ['extract', input, output, '--model', model, '--workers', '2', '--batch-size', '4', '--shard-size', '8', '--pca-k', '3', '--quiet', ...extra],
    options,
  );
}

function pack(input: string, output: string, format: 'tar' | 'parquet', extra: string[] = []) {
  return runCli(['pack', input, output, '--format', format, '--images-per-file', '8', ...extra]);
}

type Row = { path: string; label: string; features: number[] };

async function features(run: string): Promise<Row[]> {
  return (await duckdbQuery(`select path, label, features from read_parquet('${run}/features/*.parquet') order by path`)) as Row[];
}

async function errors(run: string): Promise<{ path: string; stage: string; message: string }[]> {
  if (!existsSync(join(run, 'errors'))) return [];
  return (await duckdbQuery(`select path, stage, message from read_parquet('${run}/errors/*.parquet') order by path`)) as never;
}

/** `images-00001.tar/Class A 1/0_100.jpg` → `Class A 1/0_100.jpg`: tar paths name their tar first. */
const member = (path: string) => path.replace(/^[^/]+\.tar\//, '');

function assertSameRows(actual: Row[], expected: Row[], what: string) {
  assert.deepEqual(
    actual.map((r) => [member(r.path), r.label]),
    expected.map((r) => [r.path, r.label]),
    `${what}: paths and labels`,
  );
  for (let i = 0; i < expected.length; i++) {
    const [a, b] = [actual[i].features, expected[i].features];
    assert.equal(a.length, 1280);
    const worst = Math.max(...a.map((v, j) => Math.abs(v - b[j])));
    assert.ok(worst === 0, `${what}: ${expected[i].path} features differ by up to ${worst}`);
  }
}

describe('tar and Parquet inputs', () => {
  let reference: Row[] = [];

  test('fruits pack makes tars and tables an independent reader takes back byte for byte', async () => {
    for (const format of ['tar', 'parquet'] as const) {
      const result = await pack(folder, join(work, format), format);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`packed 16 images into 2 ${format} file\\(s\\)`));
    }
    assert.deepEqual(readdirSync(join(work, 'tar')).sort(), ['images-00000.tar', 'images-00001.tar']);
    // GNU tar unpacks them: the same bytes under the same paths, the label beside each image in <stem>.cls.
    const unpacked = join(work, 'untar');
    mkdirSync(unpacked);
    for (const t of readdirSync(join(work, 'tar'))) execFileSync('tar', ['-xf', join(work, 'tar', t), '-C', unpacked]);
    for (const path of [...images, CORRUPT]) assert.deepEqual(readFileSync(join(unpacked, path)), readFileSync(join(folder, path)), path);
    assert.equal(readFileSync(join(unpacked, 'Class B 1', '0_100.cls'), 'utf8'), 'Class B 1');
    // DuckDB reads the tables: one row per image, its bytes, its label.
    const rows = await duckdbQuery(`select path, label, md5(bytes) md5 from read_parquet('${work}/parquet/*.parquet') order by path`);
    assert.equal(rows.length, 16);
    const md5 = (path: string) =>
      execFileSync('md5sum', [join(folder, path)])
        .toString()
        .split(' ')[0];
    for (const row of rows) assert.equal(row.md5, md5(String(row.path)), String(row.path));
    assert.deepEqual(
      rows.map((r) => r.label),
      rows.map((r) => String(r.path).split('/')[0]),
    );
  });

  test('extract from tars, from tables and from the folder: the same paths, labels, features, and the corrupt image in errors/', async () => {
    const runs = { folder: join(work, 'run-folder'), tar: join(work, 'run-tar'), parquet: join(work, 'run-parquet') };
    const results = await Promise.all([extract(folder, runs.folder), extract(join(work, 'tar'), runs.tar), extract(join(work, 'parquet'), runs.parquet)]);
    results.forEach((r) => assert.equal(r.code, 0, r.stderr));
    reference = await features(runs.folder);
    assert.equal(reference.length, 15);
    const tar = await features(runs.tar);
    assert.ok(
      tar.every((r) => /^images-0000[01]\.tar\//.test(r.path)),
      tar[0].path,
    );
    assertSameRows(tar, reference, 'tar');
    assertSameRows(await features(runs.parquet), reference, 'parquet');
    assert.deepEqual(
      (await errors(runs.tar)).map((e) => [e.path, e.stage]),
      [[`images-00000.tar/${CORRUPT}`, 'decode']],
    );
    assert.deepEqual(
      (await errors(runs.parquet)).map((e) => [e.path, e.stage]),
      [[CORRUPT, 'decode']],
    );
    for (const [name, run] of Object.entries(runs)) {
      const manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
      assert.deepEqual([manifest.counts.listed, manifest.counts.features, manifest.counts.errors, manifest.counts.shards], [16, 15, 1, 2], name);
    }
  });

  test('a brace pattern names the tars; tables written by DuckDB in the Hugging Face and Spark binaryFile layouts read the same', async () => {
    const brace = await extract(join(work, 'tar', 'images-{00000..00001}.tar'), join(work, 'run-brace'));
    assert.equal(brace.code, 0, brace.stderr);
    assertSameRows(await features(join(work, 'run-brace')), reference, 'brace pattern');
    const missing = await extract(join(work, 'tar', 'images-{00000..00002}.tar'), join(work, 'run-missing'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /names 1 file\(s\) that do not exist .*images-00002\.tar/);
    const wrong = await extract(join(work, 'tar'), join(work, 'run-wrong'), ['--input-format', 'parquet']);
    assert.equal(wrong.code, 3, wrong.stderr); // exit 3: input not found (nothing of that format)
    assert.match(wrong.stderr, /holds 2 files but none matches \*\.parquet/);

    const hf = join(work, 'hf');
    const spark = join(work, 'spark');
    mkdirSync(hf);
    mkdirSync(spark);
    const names = JSON.stringify({
      info: { features: { image: { _type: 'Image' }, label: { names: ['Class A 1', 'Class B 1', 'Class C 1'], _type: 'ClassLabel' } } },
    });
    const blobs = `select replace(filename, '${folder}/', '') rel, content, size, last_modified from read_blob('${folder}/*/*.jpg')`;
    await duckdbQuery(
      `copy (select {'bytes': content, 'path': rel} AS image, (ascii(split_part(rel, ' ', 2)) - 65)::bigint AS label from (${blobs}) order by rel) ` +
        `to '${hf}/train-00000-of-00001.parquet' (format parquet, row_group_size 4, kv_metadata {huggingface: '${names}'})`,
    );
    await duckdbQuery(
      `copy (select 'file:${folder}/' || rel path, last_modified modificationTime, size length, content from (${blobs}) order by rel) ` +
        `to '${spark}/part-00000.parquet' (format parquet, row_group_size 5)`,
    );
    for (const [name, input] of [
      ['hf', hf],
      ['spark', spark],
    ]) {
      const run = join(work, `run-${name}`);
      const result = await extract(input, run);
      assert.equal(result.code, 0, result.stderr);
      const rows = await features(run);
      const relative = rows.map((r) => ({ ...r, path: r.path.replace(`file:${folder}/`, '') }));
      assertSameRows(relative, reference, name);
    }
  });

  test('a tar cut short and a damaged header: the members lost are in errors/ and the run completes', async () => {
    const input = join(work, 'damaged');
    mkdirSync(input);
    const whole = readFileSync(join(work, 'tar', 'images-00001.tar'));
    writeFileSync(join(input, 'cut.tar'), whole.subarray(0, 512 * 6 + 100));
    const damaged = Buffer.from(readFileSync(join(work, 'tar', 'images-00000.tar')));
    const headers: number[] = [];
    for (let at = 0; at + 512 <= damaged.length && damaged[at] !== 0;) {
      headers.push(at);
      at +=
        512 +
        Math.ceil(
          parseInt(
            damaged
              .subarray(at + 124, at + 136)
              .toString()
              .trim(),
            8,
          ) / 512,
        ) *
          512;
    }
    damaged[headers[6] + 1] ^= 0xff; // the 4th image's header: 3 images (and their .cls) before it survive
    writeFileSync(join(input, 'damaged.tar'), damaged);
    const run = join(work, 'run-damaged');
    const result = await extract(input, run);
    assert.equal(result.code, 0, result.stderr);
    const found = await errors(run);
    const cut = found.filter((e) => e.path.startsWith('cut.tar/'));
    assert.equal(cut.length, 1, JSON.stringify(found));
    assert.match(cut[0].message, /cut short/);
    const lost = found.find((e) => e.path === `damaged.tar@${headers[6]}`);
    assert.ok(lost, JSON.stringify(found));
    assert.match(lost.message, /damaged \(checksum mismatch\): the rest of damaged\.tar cannot be read/);
    assert.equal((await features(run)).filter((r) => r.path.startsWith('damaged.tar/')).length, 3);
  });

  test('a tar run killed after its first shard resumes to the same output, each image once', async () => {
    const run = join(work, 'run-killed');
    const killed = await extract(join(work, 'tar'), run, ['--workers', '1'], {
      onSpawn: signalWhenExists(join(run, '_tmp', 'featurized', 'part-00000.json'), 'SIGKILL'),
    });
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    assert.ok(!existsSync(join(run, '_SUCCESS')));
    const resumed = await extract(join(work, 'tar'), run, ['--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const rows = await features(run);
    assert.equal(new Set(rows.map((r) => r.path)).size, rows.length);
    assertSameRows(rows, reference, 'resumed tar run');
  });
});
