import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { S3Storage } from '../../src/storage/s3-storage.js';
import { runCli } from '../support/cli.js';
import { duckdbQuery } from '../support/duckdb.js';
import { RedisServer } from '../support/redis-server.js';
import { S3RVER_ENV, startS3Server, type S3Server } from '../support/s3-server.js';
import { writeImageFolder } from '../support/synthetic-images.js';
import { writeTinyModel } from '../support/tiny-model.js';
import { assertExactlyOnce, assertSameOutput } from './compare.js';
import { WorkerFleet } from './fleet.js';

const skip = RedisServer.unavailableReason();

for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_DEFAULT_REGION']) delete process.env[name];
Object.assign(process.env, S3RVER_ENV, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });

/**
 * WebDataset tars through the distributed engine (issue 13 item 1): the stage functions are shared, so the tar shards
 * planned by the coordinator (from an S3 brace pattern) are read by `fruits worker` processes with ranged GETs.
 */
describe('fruits extract --engine bullmq over WebDataset tars in S3', { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fruits-cluster-tar-'));
  const model = join(work, 'tiny.onnx');
  const folder = join(work, 'folder');
  const tars = join(work, 'tars');
  const reference = join(work, 'reference');
  const options = ['--model', model, '--batch-size', '4', '--shard-size', '8', '--pca-k', '4'];
  let redis: RedisServer;
  let fleet: WorkerFleet;
  let s3: S3Server;

  before(async () => {
    writeTinyModel(model);
    await writeImageFolder(folder, { classes: 4, perClass: 6, seed: 3 });
    writeFileSync(join(folder, 'Class B 1', 'broken.jpg'), 'not an image\n');
    const packed = await runCli(['pack', folder, tars, '--format', 'tar', '--images-per-file', '10']);
    assert.equal(packed.code, 0, packed.stderr);
    [redis, s3] = await Promise.all([RedisServer.start(), startS3Server(['fruits-test'])]);
    const bucket = new S3Storage('s3://fruits-test/wds', { s3Endpoint: s3.endpoint });
    for (const name of readdirSync(tars)) await bucket.write(name, readFileSync(join(tars, name)));
    fleet = new WorkerFleet(redis.url, { AWS_ENDPOINT_URL: s3.endpoint, FRUITS_ALLOW: `${work},s3://fruits-test` });
    const [local] = await Promise.all([runCli(['extract', tars, reference, ...options, '--workers', '1']), fleet.start('w1'), fleet.start('w2')]);
    assert.equal(local.code, 0, local.stderr);
  });

  after(async () => {
    const stopped = await fleet?.stop();
    await redis?.dispose();
    await s3?.close();
    rmSync(work, { recursive: true, force: true });
    for (const result of stopped ?? []) assert.equal(result.code, 0, `a worker did not exit 0 on SIGTERM: ${result.stderr}`);
  });

  test(
    "s3://…/images-{00000..00002}.tar on two workers: the local engine's output, each image once, the broken member in errors/",
    { timeout: 90_000 },
    async () => {
      const out = join(work, 'run');
      const result = await runCli(['extract', 's3://fruits-test/wds/images-{00000..00002}.tar', out, '--engine', 'bullmq', ...options], {
        env: { FRUITS_REDIS_URL: redis.url, FRUITS_METRICS_INTERVAL_MS: '0', AWS_ENDPOINT_URL: s3.endpoint },
      });
      assert.equal(result.code, 0, result.stderr);
      // 3 tars of 10, 10 and 5 images: shards never span two tars, so 2 + 2 + 1.
      assert.match(result.stdout, /24 with features, 1 failed, 25 listed, 4 classes, 5 shards/);
      await assertExactlyOnce(out, 24);
      await assertSameOutput(out, reference);
      const errors = await duckdbQuery(`select path, stage from read_parquet('${out}/errors/*.parquet')`);
      assert.deepEqual(errors, [{ path: 'images-00001.tar/Class B 1/broken.jpg', stage: 'decode' }]);
      const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
      assert.equal(manifest.input, 's3://fruits-test/wds/images-{00000..00002}.tar');
      const shards = new Set(fleet.workers.flatMap((w) => w.lines.filter((l) => l.stage === 'featurize' && typeof l.shard === 'number').map(() => w.name)));
      assert.ok(shards.size >= 1, 'the workers featurized the shards');
    },
  );
});
