import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../support/cli.js';
import { duckdbQuery } from '../support/duckdb.js';
import { RedisServer } from '../support/redis-server.js';
import { writeImageFolder } from '../support/synthetic-images.js';
import { writeTinyModel } from '../support/tiny-model.js';
import { WorkerFleet } from './fleet.js';

const skip = RedisServer.unavailableReason();

// Issue 10, item 5, on the distributed engine: the same rule as the local one (pipeline/run-state.ts).
describe('fruits extract --engine bullmq --resume of a finished run with a damaged part', { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fruits-bullmq-verify-'));
  const model = join(work, 'tiny.onnx');
  const input = join(work, 'input');
  const output = join(work, 'run');
  let redis: RedisServer;
  let fleet: WorkerFleet;
  const extract = (...extra: string[]) =>
    runCli(['extract', input, output, '--engine', 'bullmq', '--model', model, '--batch-size', '4', '--shard-size', '8', '--pca-k', '3', ...extra], {
      env: { FRUITS_REDIS_URL: redis.url, FRUITS_METRICS_INTERVAL_MS: '0' },
    });
  const contents = () =>
    duckdbQuery(
      `select path, f.features, r.pca from read_parquet('${output}/features/*.parquet') f join read_parquet('${output}/results/*.parquet') r using (path) order by path`,
    );

  before(async () => {
    writeTinyModel(model);
    await writeImageFolder(input, { classes: 3, perClass: 6, seed: 3 });
    redis = await RedisServer.start();
    fleet = new WorkerFleet(redis.url, { FRUITS_ALLOW: work });
    await fleet.start('w1');
  });

  after(async () => {
    await fleet?.stop();
    await redis?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  test('--resume redoes the damaged shards on the workers, recommits, and the run verifies', { timeout: 90_000 }, async () => {
    const first = await extract();
    assert.equal(first.code, 0, first.stderr);
    const before = await contents();
    assert.equal(before.length, 18);

    const part = join(output, 'features', 'part-00001.parquet');
    truncateSync(part, statSync(part).size - 50);
    rmSync(join(output, 'results', 'part-00002.parquet'));
    // What inspect --verify says of such parts is engine-independent (test/e2e/verify.test.ts); the coordinator says it too.
    const resumed = await extract('--resume');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(
      resumed.stderr,
      /fails verification: 2 part\(s\) missing or damaged, redone now:\n +features\/part-00001\.parquet cut short: .*\n +results\/part-00002\.parquet missing/,
    );
    assert.ok(existsSync(join(output, '_SUCCESS')));
    const redone = fleet.logs((l) => l.msg === 'shard featurized').map((l) => l.shard);
    // 3 shards the first time, shard 1 again: nothing else is featurized twice.
    assert.deepEqual(redone.sort(), [0, 1, 1, 2]);

    const verified = await runCli(['inspect', output, '--verify']);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /verified +all 7 parts verified/);
    assert.deepEqual(await contents(), before);
  });
});
