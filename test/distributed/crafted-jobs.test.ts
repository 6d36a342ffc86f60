import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue, type Job } from 'bullmq';
import { ModelBroadcast } from '../../src/engine/bullmq/model-broadcast.js';
import { sha256Bytes } from '../../src/model/sha256.js';
import { prepareRun } from '../../src/pipeline/prepare-run.js';
import { DEFAULT_RUN_OPTIONS } from '../../src/dataset/run-spec.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { duckdbQuery } from '../support/duckdb.js';
import { RedisServer } from '../support/redis-server.js';
import { writeImageFolder } from '../support/synthetic-images.js';
import { writeTinyModel } from '../support/tiny-model.js';
import { FAST_RECOVERY, WorkerFleet } from './fleet.js';

const skip = RedisServer.unavailableReason();

/**
 * Anyone who can write to the queue can send a job. A worker started with --allow must not read or write outside
 * those prefixes whatever the job or the plan it points at says, and must refuse malformed jobs without retrying.
 */
describe('fruits worker --allow against crafted jobs', { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fruits-crafted-'));
  const allowed = join(work, 'allowed');
  const outside = join(work, 'outside');
  const model = join(work, 'tiny.onnx');
  let redis: RedisServer;
  let fleet: WorkerFleet;
  let queue: Queue;

  /** A real run's plan (and published model) at `output`, planned over `input`. */
  async function plan(input: string, output: string): Promise<string> {
    const bytes = readFileSync(model);
    const prepared = await prepareRun({
      input: openStorage(input),
      output: openStorage(output),
      options: { ...DEFAULT_RUN_OPTIONS, shardSize: 4, batchSize: 2 },
      model: { path: model, sha256: sha256Bytes(bytes) },
      resume: false,
      overwrite: false,
    });
    assert.equal(prepared.state, 'ready');
    await ModelBroadcast.publish(openStorage(output), model, sha256Bytes(bytes));
    return prepared.state === 'ready' ? prepared.plan.spec.runId : '';
  }

  /** Adds a job with 3 attempts allowed and waits for its end: refusals must not use the other two. */
  async function send(name: string, data: unknown): Promise<Job> {
    const job = await queue.add(name, data, { attempts: 3, backoff: { type: 'fixed', delay: 100 } });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const state = await job.getState();
      if (state === 'completed' || state === 'failed') return (await queue.getJob(job.id!))!;
      if (Date.now() > deadline) throw new Error(`job ${name} still ${state}:\n${fleet.dump()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function refused(name: string, data: unknown, reason: RegExp): Promise<void> {
    const job = await send(name, data);
    assert.equal(await job.getState(), 'failed', `${name} ${JSON.stringify(data)} was not refused`);
    assert.match(job.failedReason, reason);
    assert.equal(job.attemptsMade, 1, 'a refused job is not retried');
  }

  before(async () => {
    writeTinyModel(model);
    await writeImageFolder(join(allowed, 'input'), { classes: 2, perClass: 3 });
    await writeImageFolder(join(outside, 'input'), { classes: 1, perClass: 2 });
    redis = await RedisServer.start();
    queue = new Queue('shards', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null }, prefix: 'fruits' });
    fleet = new WorkerFleet(redis.url);
    // `allowed/./` spells the same prefix: the policy compares resolved paths.
    await fleet.start('guarded', [...FAST_RECOVERY, '--allow', join(allowed, '.') + '/', '--allow', 's3://bucket/runs']);
  });

  after(async () => {
    const [stopped] = await fleet.stop();
    await queue.close();
    await redis.dispose();
    rmSync(work, { recursive: true, force: true });
    assert.equal(stopped?.code, 0);
  });

  test('a job inside the allowed prefixes runs (the guard does not refuse everything)', async () => {
    const output = join(allowed, 'runs', 'ok');
    const runId = await plan(join(allowed, 'input'), output);
    const job = await send('featurize', { runId, output, shard: 1 });
    assert.equal(await job.getState(), 'completed', job.failedReason);
    const [{ n }] = await duckdbQuery(`select count(*)::int n from read_parquet('${output}/features/part-00001.parquet')`);
    assert.equal(n, 2);
  });

  test('outputs and inputs outside the prefixes are refused before anything is read or written', async () => {
    const foreign = join(outside, 'runs', 'x');
    const runId = await plan(join(outside, 'input'), foreign);
    await refused('featurize', { runId, output: foreign, shard: 0 }, /AccessDenied|outside the prefixes/);
    await refused('featurize', { runId, output: join(allowed, '..', 'outside', 'runs', 'x'), shard: 0 }, /outside the prefixes/);
    await refused('commit', { runId, output: foreign }, /outside the prefixes/);
    assert.ok(!existsSync(join(foreign, 'features')), 'nothing written outside');
    // An output inside, whose plan reads an input outside.
    const inside = join(allowed, 'runs', 'reads-outside');
    const sneaky = await plan(join(outside, 'input'), inside);
    await refused('featurize', { runId: sneaky, output: inside, shard: 0 }, /input .*outside the prefixes/);
    assert.ok(!existsSync(join(inside, 'features')), 'nothing read, nothing written');
    await refused('featurize', { runId: 'r1', output: 's3://bucket/runs/../secrets', shard: 0 }, /'\.\.' segment/);
  });

  test('malformed payloads, unknown runs and shards, and plans that do not match the job are refused', async () => {
    const output = join(allowed, 'runs', 'checks');
    const runId = await plan(join(allowed, 'input'), output);
    await refused('featurize', { runId, output, shard: 0, extra: 'x' }, /invalid featurize job: .*Unrecognized key/);
    await refused('featurize', { runId, output }, /invalid featurize job: shard/);
    await refused('project', { runId, output, shard: -1 }, /invalid project job: shard/);
    await refused('reduce', { runId, output, shard: 0 }, /invalid reduce job/);
    await refused('delete-everything', { runId, output }, /unknown job name/);
    await refused('featurize', { runId: 'a:b/../c', output, shard: 0 }, /invalid featurize job: runId/);
    await refused('featurize', { runId: 'someone-else', output, shard: 0 }, /holds run \S+, not someone-else/);
    await refused('featurize', { runId, output, shard: 99 }, /has no shard 99/);
    await refused('featurize', { runId, output: join(allowed, 'runs', 'elsewhere'), shard: 0 }, /writes to .*checks, not to .*elsewhere/);
    await refused('featurize', { runId: 'unknown-run', output: join(allowed, 'runs', 'nothing-here'), shard: 0 }, /no run at/);
    // A plan whose model file name would leave the model cache.
    const planPath = join(output, '_tmp', 'plan.json');
    const crafted = JSON.parse(readFileSync(planPath, 'utf8'));
    crafted.spec.runId = 'crafted-model';
    crafted.spec.model.file = '../../../../tmp/evil.onnx';
    mkdirSync(join(allowed, 'runs', 'crafted', '_tmp'), { recursive: true });
    crafted.spec.output = join(allowed, 'runs', 'crafted');
    writeFileSync(join(allowed, 'runs', 'crafted', '_tmp', 'plan.json'), JSON.stringify(crafted));
    await refused('featurize', { runId: 'crafted-model', output: crafted.spec.output, shard: 0 }, /spec\.model\.file: must be a plain file name/);
  });

  test('input keys that climb out of the input root are refused by the storage and recorded as errors', async () => {
    const output = join(allowed, 'runs', 'climb');
    const runId = await plan(join(allowed, 'input'), output);
    const planPath = join(output, '_tmp', 'plan.json');
    const crafted = JSON.parse(readFileSync(planPath, 'utf8'));
    crafted.shards[0].keys[0] = '../../outside/input/Class A 1/0_100.jpg';
    writeFileSync(planPath, JSON.stringify(crafted));
    const job = await send('featurize', { runId, output, shard: 0 });
    assert.equal(await job.getState(), 'completed', job.failedReason);
    const errors = await duckdbQuery(`select path, stage, message from read_parquet('${output}/errors/part-00000.parquet')`);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].stage, 'read');
    assert.match(String(errors[0].message), /escapes the storage root/);
  });
});

/**
 * Issue 10, item 3: a worker started with neither --allow nor FRUITS_ALLOW used to accept anything, so a crafted
 * job could make it read /etc. Now its default is its current directory only.
 */
describe('fruits worker with no --allow and no FRUITS_ALLOW: its current directory only', { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fruits-default-allow-'));
  const home = join(work, 'home');
  const outside = join(work, 'outside');
  const model = join(work, 'tiny.onnx');
  let redis: RedisServer;
  let queue: Queue;

  before(async () => {
    writeTinyModel(model);
    await writeImageFolder(join(home, 'input'), { classes: 1, perClass: 2 });
    redis = await RedisServer.start();
    queue = new Queue('shards', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null }, prefix: 'fruits' });
  });

  after(async () => {
    await queue.close();
    await redis.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  async function plan(input: string, output: string): Promise<string> {
    const bytes = readFileSync(model);
    const prepared = await prepareRun({
      input: openStorage(input),
      output: openStorage(output),
      options: { ...DEFAULT_RUN_OPTIONS, shardSize: 4, batchSize: 2 },
      model: { path: model, sha256: sha256Bytes(bytes) },
      resume: false,
      overwrite: false,
    });
    await ModelBroadcast.publish(openStorage(output), model, sha256Bytes(bytes));
    return prepared.state === 'ready' ? prepared.plan.spec.runId : '';
  }

  async function finished(fleet: WorkerFleet, name: string, data: unknown): Promise<Job> {
    const job = await queue.add(name, data, { attempts: 3, backoff: { type: 'fixed', delay: 100 } });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const state = await job.getState();
      if (state === 'completed' || state === 'failed') return (await queue.getJob(job.id!))!;
      if (Date.now() > deadline) throw new Error(`job ${name} still ${state}:\n${fleet.dump()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test('refuses a crafted job reading /etc and one writing outside its directory, says what it accepts; FRUITS_ALLOW widens it', async () => {
    // A plan inside the worker's directory whose input is /etc (keys passwd, shadow), as the issue's attacker wrote it.
    const etcRun = join(home, 'runs', 'etc');
    const etcId = await plan(join(home, 'input'), etcRun);
    const planPath = join(etcRun, '_tmp', 'plan.json');
    const crafted = JSON.parse(readFileSync(planPath, 'utf8'));
    crafted.spec.input = '/etc';
    // A well-formed plan (labels and sizes as long as the keys): only where it reads from is wrong.
    Object.assign(crafted.shards[0], { keys: ['passwd', 'shadow'], labels: ['a', 'a'], sizes: [1, 1] });
    writeFileSync(planPath, JSON.stringify(crafted));
    const foreign = join(outside, 'runs', 'x');
    const foreignId = await plan(join(home, 'input'), foreign);

    const fleet = new WorkerFleet(redis.url);
    const worker = await fleet.start('default', FAST_RECOVERY, { FRUITS_ALLOW: '' }, home);
    try {
      const started = worker.lines.find((l) => l.msg === 'worker started')!;
      assert.deepEqual([started.allow, started.allowFrom], [[home], 'default']);
      assert.match(String(started.accepts), /under .*home \(its current directory \(the default\); set with --allow PREFIX/);

      const reading = await finished(fleet, 'featurize', { runId: etcId, output: etcRun, shard: 0 });
      assert.equal(await reading.getState(), 'failed', 'a job reading /etc ran');
      assert.match(
        reading.failedReason,
        /input \/etc is outside the prefixes this worker accepts \(.*home: the worker's current directory, the default\); to accept it, start the worker with --allow \/etc/,
      );
      assert.equal(reading.attemptsMade, 1, 'a refused job is not retried');
      assert.ok(!existsSync(join(etcRun, 'errors')) && !existsSync(join(etcRun, 'features')), 'nothing read from /etc, nothing written');

      const writing = await finished(fleet, 'featurize', { runId: foreignId, output: foreign, shard: 0 });
      assert.equal(await writing.getState(), 'failed', 'a job writing outside the directory ran');
      assert.match(writing.failedReason, /output .*outside.* is outside the prefixes this worker accepts .*--allow .*outside/);
      assert.equal(writing.attemptsMade, 1);
      assert.ok(!existsSync(join(foreign, 'features')), 'nothing written outside');
    } finally {
      await fleet.stop();
    }

    // The same job, on a worker given FRUITS_ALLOW (comma-separated) that covers it, runs.
    const widened = new WorkerFleet(redis.url);
    const allowed = await widened.start('widened', FAST_RECOVERY, { FRUITS_ALLOW: `${join(home, 'input')},${outside}` }, home);
    try {
      const started = allowed.lines.find((l) => l.msg === 'worker started')!;
      assert.deepEqual([started.allow, started.allowFrom], [[join(home, 'input'), outside], 'FRUITS_ALLOW']);
      const job = await finished(widened, 'featurize', { runId: foreignId, output: foreign, shard: 0 });
      assert.equal(await job.getState(), 'completed', job.failedReason);
      const [{ n }] = await duckdbQuery(`select count(*)::int n from read_parquet('${foreign}/features/part-00000.parquet')`);
      assert.equal(n, 2);
    } finally {
      const [stopped] = await widened.stop();
      assert.equal(stopped?.code, 0);
    }
  });
});
