import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { runCli } from '../support/cli.js';
import { RedisServer } from '../support/redis-server.js';
import { measuredRun, RedisMemory, warmUpRun, writeTarInput, type RunFigures, type SpawnCli, type WorkerLog } from '../support/scale-run.js';
import { writeTinyModel } from '../support/tiny-model.js';
import { WorkerFleet } from './fleet.js';

const skip = RedisServer.unavailableReason();

/**
 * bench:scale's path at 10^4 images (npm run bench:scale runs it at 10^6): tar shards of tiny PNGs, 2 workers, a
 * tree reduce of fan-in 4 (3 levels over 50 shards) queued in several transactions. The PCA must be the local
 * engine's to the byte, and Redis must hold only pending work.
 */
describe('bench:scale at 10^4 images: tree reduce, bounded enqueue, Redis memory', { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fruits-scale-'));
  const input = join(work, 'input');
  const model = join(work, 'tiny.onnx');
  const images = 10_000;
  const shardSize = 200;
  let redis: RedisServer;
  let fleet: WorkerFleet;
  let memory: RedisMemory;

  const spawnCli: SpawnCli = (args, env, onLine) => {
    let child: ChildProcess | undefined;
    const done = runCli(args, { env, onSpawn: (c) => (child = c) }).then((result) => {
      for (const line of result.stderr.split(/\r?\n|\r/)) onLine?.(line, 'stderr');
      return result.code;
    });
    return { child: child!, done };
  };

  before(async () => {
    writeTinyModel(model);
    writeTarInput(input, { images, perTar: 1000, classes: 5 });
    redis = await RedisServer.start();
    fleet = new WorkerFleet(redis.url, { FRUITS_ALLOW: work });
    await Promise.all([fleet.start('s1', []), fleet.start('s2', [])]);
    memory = RedisMemory.open(redis.url);
  });

  after(async () => {
    await fleet?.stop();
    await memory?.close();
    await redis?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  test(
    '10^4 images in 50 shards: PCA identical to the local engine, Redis flat in completed shards, engine cost per shard small',
    { timeout: 240_000 },
    async (t) => {
      const logs = () => fleet.workers.flatMap((w) => w.lines) as unknown as WorkerLog[];
      await warmUpRun({ spawn: spawnCli, redisUrl: redis.url, memory, workerLogs: logs, model, shardSize, batchSize: 50 }, work);
      const tree: RunFigures = await measuredRun({
        spawn: spawnCli,
        redisUrl: redis.url,
        memory,
        workerLogs: logs,
        input,
        output: join(work, 'tree'),
        model,
        shardSize,
        batchSize: 50,
        fanIn: 4,
        enqueueBatch: 16,
      });
      const local = await runCli([
        'extract',
        input,
        join(work, 'local'),
        '--model',
        model,
        '--shard-size',
        String(shardSize),
        '--batch-size',
        '50',
        '--pca-k',
        '8',
        '--workers',
        '2',
        '--quiet',
      ]);
      assert.equal(local.code, 0, local.stderr);

      assert.equal(tree.images, images);
      assert.equal(tree.shards, 50);
      assert.equal(tree.manifest.counts.features, images);
      // Tree of fan-in 4 over 50 shards: 13 + 4 merge jobs under the reduce, which reads 4 files.
      assert.deepEqual(
        tree.merges.map((m) => [m.level, m.jobs]),
        [
          [1, 13],
          [2, 4],
        ],
      );
      // Subtrees of at most 16 shards per Redis transaction.
      assert.ok(tree.transactions >= 4, `${tree.transactions} transactions`);
      // Both engines merge in the one canonical order: the same moments, the same eigen-decomposition.
      const pca = (dir: string) => readFileSync(join(work, dir, 'pca', 'model.json'));
      assert.ok(pca('tree').equals(pca('local')), 'the PCA model of the tree reduce is byte for byte the local engine’s');

      // Redis: a queued shard costs a few KiB; completed ones are removed, so memory does not grow as they finish.
      t.diagnostic(
        `Redis ${(tree.bytesPerPendingShard / 1024).toFixed(2)} KiB per queued shard, engine ${tree.engineOverheadMsPerShard.toFixed(2)} ms per shard`,
      );
      assert.ok(tree.bytesPerPendingShard > 0 && tree.bytesPerPendingShard < 8192, `${tree.bytesPerPendingShard} bytes per queued shard`);
      // Measured from the first quarter on: the sample at 0 % is taken before the workers' first fetches (locks,
      // active list, the events stream's first entries), and moved by ±120 KiB between runs here, more than a
      // regression would add. Kept completed jobs (≈ 1.5 KiB each) would make the last three quarters grow.
      const [, quarter, , , end] = tree.memoryByProgress.map((m) => m.usedBytes);
      assert.ok(end <= quarter + 16 * 1024, `Redis used ${quarter} bytes at a quarter of featurize, ${end} at its end`);
      assert.ok(tree.engineOverheadMsPerShard < 100, `engine cost ${tree.engineOverheadMsPerShard} ms per shard`);
      // No shard or merge job is kept once done; each run's reduce and commit are (the warm-up's and this one's).
      const counts = await memory.pausable.getJobCounts('completed', 'failed', 'waiting', 'active', 'waiting-children');
      assert.deepEqual(counts, { completed: 4, failed: 0, waiting: 0, active: 0, 'waiting-children': 0 });
    },
  );
});
