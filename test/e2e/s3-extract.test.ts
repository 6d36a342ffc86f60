import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mapLimited } from '../../src/pipeline/map-limited.js';
import { S3Storage } from '../../src/storage/s3-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { runCli } from '../support/cli.js';
import { duckdbQuery } from '../support/duckdb.js';
import { S3RVER_ENV, startS3Server, type S3Server } from '../support/s3-server.js';
import { writeImageFolder } from '../support/synthetic-images.js';
import { writeTinyModel } from '../support/tiny-model.js';

// The SDK's default credential chain finds s3rver's key pair in the environment; nothing of the user's
// AWS configuration (profile, endpoint, session token) may leak into this test.
for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_DEFAULT_REGION']) delete process.env[name];
Object.assign(process.env, S3RVER_ENV, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });

let server: S3Server;
const work = mkdtempSync(join(tmpdir(), 'fruits-s3-extract-'));

before(async () => {
  server = await startS3Server(['fruits-in', 'fruits-out']);
});

after(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

function s3(uri: string): S3Storage {
  return new S3Storage(uri, { s3Endpoint: server.endpoint });
}

async function keys(storage: Storage, prefix?: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of storage.list(prefix)) found.push(entry.key);
  return found.sort();
}

async function uploadFolder(dir: string, storage: Storage): Promise<number> {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  await mapLimited(files, 8, async (file) => {
    const path = join(file.parentPath, file.name);
    await storage.write(relative(dir, path).split(sep).join('/'), readFileSync(path));
  });
  return files.length;
}

async function downloadPrefix(storage: Storage, prefix: string, dir: string): Promise<number> {
  let n = 0;
  for await (const { key } of storage.list(prefix)) {
    const path = join(dir, ...key.split('/'));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, await storage.read(key));
    n++;
  }
  return n;
}

describe('fruits extract from s3:// to s3:// (s3rver, tiny model)', () => {
  test('featurizes the bucket input, writes the run to the bucket; DuckDB reads the parts', async () => {
    const model = writeTinyModel(join(work, 'tiny.onnx'));
    const images = join(work, 'images');
    await writeImageFolder(images, { classes: 3, perClass: 5 });
    writeFileSync(join(images, 'Class A 1', 'bad.jpg'), 'this is a text file named .jpg\n');
    const input = s3('s3://fruits-in/Test');
    assert.equal(await uploadFolder(images, input), 16);

    const result = await runCli(
      // The endpoint comes from the flag alone (the variables are cleared above), as a user of MinIO would give it.
      [
        'extract',
        's3://fruits-in/Test',
        's3://fruits-out/runs/r1',
        '--model',
        model,
        '--pca-k',
        '3',
        '--shard-size',
        '8',
        '--workers',
        '2',
        '--s3-endpoint',
        server.endpoint,
      ],
      { env: { ...S3RVER_ENV, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
    );
    assert.equal(result.code, 0, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
    assert.match(result.stdout, /15 with features, 1 failed, 16 listed, 3 classes, 2 shards/);

    const output = s3('s3://fruits-out/runs/r1');
    const top = await keys(output);
    for (const key of ['_SUCCESS', 'manifest.json', 'pca/model.json', 'features/part-00000.parquet', 'results/part-00001.parquet']) {
      assert.ok(top.includes(key), `${key} missing from ${top.join(', ')}`);
    }
    assert.ok(!top.some((k) => k.startsWith('_tmp/')), 'the commit removes the scratch space');
    const manifest = JSON.parse((await output.read('manifest.json')).toString());
    assert.equal(manifest.input, 's3://fruits-in/Test');
    assert.deepEqual([manifest.counts.features, manifest.counts.errors, manifest.pca.k], [15, 1, 3]);

    const local = join(work, 'run');
    for (const prefix of ['features/', 'results/', 'errors/']) assert.ok((await downloadPrefix(output, prefix, local)) > 0, prefix);
    const [features] = await duckdbQuery(
      `select count(*)::int n, count(distinct path)::int paths, min(len(features))::int dim from read_parquet('${local}/features/*.parquet')`,
    );
    assert.deepEqual(features, { n: 15, paths: 15, dim: 1280 });
    const labels = await duckdbQuery(
      `select label, count(*)::int n, min(len(pca))::int k from read_parquet('${local}/results/*.parquet') group by 1 order by 1`,
    );
    assert.deepEqual(labels, [
      { label: 'Class A 1', n: 5, k: 3 },
      { label: 'Class B 1', n: 5, k: 3 },
      { label: 'Class C 1', n: 5, k: 3 },
    ]);
    const errors = await duckdbQuery(`select path, stage, message from read_parquet('${local}/errors/*.parquet')`);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].path, 'Class A 1/bad.jpg');
    assert.equal(errors[0].stage, 'decode');
    assert.match(String(errors[0].message), /text, not an image/);
  });
});
