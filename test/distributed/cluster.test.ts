import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { runCli } from '../support/cli.js';
import { S3Storage } from '../../src/storage/s3-storage.js';
import { duckdbQuery } from '../support/duckdb.js';
import { RedisServer } from '../support/redis-server.js';
import { S3RVER_ENV, startS3Server, type S3Server } from '../support/s3-server.js';
import { writeImageFolder } from '../support/synthetic-images.js';
import { writeTinyModel } from '../support/tiny-model.js';
import { assertExactlyOnce, assertSameOutput } from './compare.js';
import { WorkerFleet } from './fleet.js';

const skip = RedisServer.unavailableReason();

// Workers and coordinators reach the test's s3rver through the SDK's default chain; nothing of the user's AWS
// configuration may leak in.
for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_DEFAULT_REGION']) delete process.env[name];
Object.assign(process.env, S3RVER_ENV, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });

/**
 * The distributed engine against a real redis-server (persistence on) and real `fruits worker` processes:
 * tiny model, synthetic images, shards of 8 images so every run has several shards and takes seconds.
 */
describe('fruits extract --engine bullmq with fruits worker processes', { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fruits-cluster-'));
  const model = join(work, 'tiny.onnx');
  const inputA = join(work, 'input-a');
  const inputB = join(work, 'input-b');
  const reference = join(work, 'reference-a');
  const imagesA = 4 * 10;
  let redis: RedisServer;
  let fleet: WorkerFleet;
  let queue: Queue;
  let s3: S3Server;

  const env = () => ({ FRUITS_REDIS_URL: redis.url, FRUITS_METRICS_INTERVAL_MS: '0', AWS_ENDPOINT_URL: s3.endpoint });
  const out = (name: string) => join(work, 'runs', name);
  const options = ['--model', model, '--batch-size', '4', '--shard-size', '8', '--pca-k', '4'];
  /** Coordinators still running when a test ends (it failed): killed, or they would keep the suite alive. */
  const coordinators = new Set<ChildProcess>();
  const extract = (args: string[], onSpawn?: (child: ChildProcess) => void) =>
    runCli(['extract', ...args, '--engine', 'bullmq', ...options], {
      env: env(),
      onSpawn: (child) => {
        coordinators.add(child);
        child.once('exit', () => coordinators.delete(child));
        onSpawn?.(child);
      },
    });
  const runIdOf = (dir: string) => JSON.parse(readFileSync(join(dir, '_tmp', 'plan.json'), 'utf8')).spec.runId as string;
  const markers = (dir: string) =>
    existsSync(join(dir, '_tmp', 'featurized')) ? readdirSync(join(dir, '_tmp', 'featurized')).filter((f) => f.endsWith('.json')) : [];
  before(async () => {
    writeTinyModel(model);
    await writeImageFolder(inputA, { classes: 4, perClass: 10, seed: 5 });
    await writeImageFolder(inputB, { classes: 2, perClass: 9, seed: 11, size: 90 });
    [redis, s3] = await Promise.all([RedisServer.start(), startS3Server(['fruits-test'])]);
    // Workers accept only what they are told (default: their current directory): this test's folder and bucket.
    fleet = new WorkerFleet(redis.url, { AWS_ENDPOINT_URL: s3.endpoint, FRUITS_ALLOW: `${work},s3://fruits-test` });
    queue = new Queue('shards', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null }, prefix: 'fruits' });
    queue.on('error', () => {});
    const [local] = await Promise.all([runCli(['extract', inputA, reference, ...options, '--workers', '1']), fleet.start('w1'), fleet.start('w2')]);
    assert.equal(local.code, 0, local.stderr);
  });

  afterEach(async () => {
    for (const child of coordinators) child.kill('SIGKILL');
    // A test that failed while the queue was paused must not stall the next ones.
    await queue.resume();
  });

  after(async () => {
    const stopped = await fleet?.stop();
    await queue?.close();
    await redis?.dispose();
    await s3?.close();
    rmSync(work, { recursive: true, force: true });
    for (const result of stopped ?? []) assert.equal(result.code, 0, `a worker did not exit 0 on SIGTERM: ${result.stderr}`);
  });

  test('kill -9 of one of three workers mid-shard: its shard is redone elsewhere, the output equals the local engine', { timeout: 90_000 }, async () => {
    const victim = await fleet.start('victim');
    // Paused, the queue fills first; on resume every idle worker (the victim included) takes a shard at once.
    await queue.pause();
    const target = out('killed');
    const run = extract([inputA, target]);
    await poll(async () => existsSync(join(target, '_tmp', 'plan.json')) && (await queued()) > 0, 'the shards to be queued');
    await queue.resume();
    const started = await fleet.waitFor(
      () => victim.lines.find((l) => l.msg === 'job started' && l.stage === 'featurize'),
      20_000,
      'the victim to take a shard',
    );
    victim.child.kill('SIGKILL');
    const result = await run;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /40 with features, 0 failed, 40 listed, 4 classes, 5 shards/);
    const doneBy = fleet.featurizedBy(runIdFromManifest(target)).get(started.shard!) ?? [];
    assert.ok(doneBy.length > 0 && !doneBy.includes('victim'), `shard ${started.shard} was featurized by ${doneBy.join(', ') || 'nobody'}`);
    await assertExactlyOnce(target, imagesA);
    await assertSameOutput(target, reference);
    const manifest = JSON.parse(readFileSync(join(target, 'manifest.json'), 'utf8'));
    assert.match(manifest.engine, /^bullmq/);
    assert.ok(!existsSync(join(target, '_tmp')), 'the commit removes _tmp/ (and the published model with it)');
    // The reduce fits in a thread: the worker keeps renewing its lock, no other worker takes it over.
    const runId = runIdFromManifest(target);
    assert.equal(fleet.logs((l) => l.runId === runId && l.stage === 'reduce' && l.msg === 'job started').length, 1, 'the reduce ran once');
    assert.deepEqual(await queue.getJobCounts('active', 'waiting', 'delayed'), { active: 0, waiting: 0, delayed: 0 });
  });

  test(
    'Redis stopped for 3 s mid-run and restarted (append-only file): workers and coordinator reconnect, the run completes',
    { timeout: 90_000 },
    async () => {
      const target = out('redis-restart');
      const run = extract([inputA, target]);
      await poll(() => markers(target).length > 0, 'a first shard');
      assert.ok(!existsSync(join(target, '_SUCCESS')), 'the run is still going when Redis stops');
      await redis.stop();
      await new Promise((r) => setTimeout(r, 3000));
      await redis.resume();
      const result = await run;
      assert.equal(result.code, 0, result.stderr);
      await assertExactlyOnce(target, imagesA);
      await assertSameOutput(target, reference);
      assert.ok(
        fleet.workers.filter((w) => w.name !== 'victim').every((w) => w.child.exitCode === null),
        'workers survived the outage',
      );
    },
  );

  test(
    'a shard that keeps failing is retried 3 times with exponential backoff, then the run fails naming shard and cause; --resume finishes it',
    { timeout: 90_000 },
    async () => {
      const target = out('failing');
      // A real cause: the part's target is a folder, so every write of shard 2's features fails (EISDIR).
      mkdirSync(join(target, 'features', 'part-00002.parquet'), { recursive: true });
      const failed = await extract([inputA, target]);
      assert.equal(failed.code, 1, failed.stderr);
      assert.match(failed.stderr, /RunFailedError: run \S+ failed: shard 2 \(featurize\) failed after 3 attempt\(s\): .*EISDIR.*part-00002\.parquet/);
      assert.ok(!existsSync(join(target, '_SUCCESS')));
      const runId = runIdOf(target);
      const tries = fleet
        .logs((l) => l.runId === runId && l.msg === 'job started' && l.stage === 'featurize' && l.shard === 2)
        .map((l) => Date.parse(String(l.time)));
      assert.equal(tries.length, 3, 'three tries, no more');
      tries.sort((a, b) => a - b);
      assert.ok(tries[1] - tries[0] >= 900 && tries[2] - tries[1] >= 1900, `backoff 1 s then 2 s, got ${tries[1] - tries[0]} and ${tries[2] - tries[1]} ms`);

      const status = await runCli(['status', runId, '--json'], { env: env() });
      assert.equal(status.code, 0, status.stderr);
      const [report] = JSON.parse(status.stdout).runs;
      assert.equal(report.state, 'failed');
      assert.deepEqual(
        { shard: report.failures[0].shard, stage: report.failures[0].stage, attempts: report.failures[0].attempts },
        { shard: 2, stage: 'featurize', attempts: 3 },
      );
      assert.match(report.failures[0].reason, /EISDIR/);

      const kept = statSync(join(target, 'features', 'part-00000.parquet')).mtimeMs;
      rmSync(join(target, 'features', 'part-00002.parquet'), { recursive: true });
      const resumed = await extract([inputA, target, '--resume']);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(statSync(join(target, 'features', 'part-00000.parquet')).mtimeMs, kept, 'a finished shard was not redone');
      await assertExactlyOnce(target, imagesA);
    },
  );

  test('coordinator killed -9, then `extract --resume RUN_ID` re-attaches: no shard is queued or done twice', { timeout: 90_000 }, async () => {
    const target = out('coordinator-killed');
    await queue.pause();
    let coordinator: ChildProcess | undefined;
    const first = extract([inputA, target], (child) => (coordinator = child));
    await poll(async () => existsSync(join(target, '_tmp', 'plan.json')) && (await queued()) > 0, 'the shards to be queued');
    // One job at a time across the fleet, and the queue paused as soon as one shard is done: with the tiny model
    // the three workers could otherwise finish all five shards before the coordinator is gone.
    await queue.setGlobalConcurrency(1);
    await queue.resume();
    await poll(() => markers(target).length >= 1, 'a first shard featurized');
    await queue.pause();
    coordinator!.kill('SIGKILL');
    assert.equal((await first).signal, 'SIGKILL');
    await poll(async () => (await queue.getJobCounts('active')).active === 0, 'the jobs in hand to finish');
    await queue.removeGlobalConcurrency();
    const runId = runIdOf(target);
    const done = markers(target).map((m) => m.replace('.json', '.parquet'));
    const mtimes = done.map((p) => statSync(join(target, 'features', p)).mtimeMs);
    assert.ok(done.length < 5, 'some shards are left for the resumed run');

    // No <input> <output>: the run's id is enough (input, output and options come from the queue and the plan).
    let resumedStderr = '';
    const resumed = runCli(['extract', '--resume', runId, '--engine', 'bullmq', '--model', model], {
      env: env(),
      onSpawn: (child) => child.stderr!.on('data', (d) => (resumedStderr += d)),
    });
    await poll(() => /resuming run/.test(resumedStderr), 'the resumed coordinator');
    await queue.resume();
    const result = await resumed;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /40 with features, 0 failed, 40 listed, 4 classes, 5 shards/);
    assert.deepEqual(
      done.map((p) => statSync(join(target, 'features', p)).mtimeMs),
      mtimes,
      'shards finished before the resume were not redone',
    );
    const starts = fleet.logs((l) => l.runId === runId && l.msg === 'job started' && l.stage === 'featurize');
    // On failure, what the workers said about the shards started twice (a re-queued job, or a stalled one).
    const twice = starts.map((l) => l.shard).filter((s, i, all) => all.indexOf(s) !== i);
    const story = fleet.logs((l) => l.runId === runId && twice.includes(l.shard as number)).map((l) => `${l.time} ${l.by} ${l.msg}`);
    assert.deepEqual(starts.map((l) => l.shard).sort(), [0, 1, 2, 3, 4], `every featurize job ran exactly once\n${story.join('\n')}`);
    await assertExactlyOnce(target, imagesA);
  });

  test('two runs at once on the same workers keep their outputs apart', { timeout: 90_000 }, async () => {
    const [a, b] = [out('both-a'), out('both-b')];
    // The coordinators also report PendingShards (EMF) every 100 ms here: on stdout, or on stderr with --json.
    const metrics = { FRUITS_METRICS_INTERVAL_MS: '100' };
    const [ra, rb] = await Promise.all([
      runCli(['extract', inputA, a, '--engine', 'bullmq', ...options], { env: { ...env(), ...metrics } }),
      runCli(['extract', inputB, b, '--engine', 'bullmq', '--json', ...options], { env: { ...env(), ...metrics } }),
    ]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    const emf = ra.stdout
      .split('\n')
      .filter((l) => l.startsWith('{"_aws"'))
      .map((l) => JSON.parse(l));
    assert.ok(emf.length > 0 && emf.every((m) => m.Queue === 'shards' && Number.isInteger(m.PendingShards)), ra.stdout);
    assert.match(ra.stdout, /^run +\S+ +\(bullmq/m);
    assert.equal(JSON.parse(rb.stdout).counts.features, 18, 'with --json, stdout is the manifest alone');
    assert.match(rb.stderr, /"PendingShards":\d+/);
    await assertSameOutput(a, reference);
    await assertExactlyOnce(b, 18);
    const manifests = [a, b].map((d) => JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')));
    assert.notEqual(manifests[0].runId, manifests[1].runId);
    assert.deepEqual(manifests[1].classes, ['Class A 1', 'Class B 1']);
    assert.deepEqual(
      manifests.map((m) => m.counts.features),
      [40, 18],
    );
    const byRun = [runIdFromManifest(a), runIdFromManifest(b)].map((id) => fleet.logs((l) => l.runId === id && l.msg === 'shard featurized').length);
    assert.deepEqual(byRun, [5, 3]);
  });

  test(
    '--detach queues a run and exits; the workers finish it alone; fruits status follows it (text, --json, dashboard); no password is printed',
    { timeout: 90_000 },
    async () => {
      const target = out('detached');
      const detached = await extract([inputB, target, '--detach']);
      assert.equal(detached.code, 0, detached.stderr);
      const runId = detached.stdout.trim();
      assert.match(runId, /^\d{8}-\d{6}-[0-9a-f]{6}$/);
      assert.ok(!existsSync(join(target, '_SUCCESS')), 'the coordinator did not wait');
      const status = async () => {
        const result = await runCli(['status', runId, '--json'], { env: env() });
        assert.equal(result.code, 0, result.stderr);
        return JSON.parse(result.stdout);
      };
      let report = await status();
      assert.equal(report.queue, 'fruits:shards');
      assert.deepEqual(report.workers.map((w: { name: string }) => w.name).sort(), ['w1', 'w2']);
      assert.deepEqual([report.runs.length, report.runs[0].runId, report.runs[0].output, report.runs[0].shards], [1, runId, target, 3]);
      assert.ok(['running', 'complete'].includes(report.runs[0].state), `state ${report.runs[0].state}`);
      await poll(() => existsSync(join(target, '_SUCCESS')), 'the workers to finish the detached run');
      report = await status();
      assert.equal(report.pendingShards, 0);
      assert.deepEqual(
        { state: report.runs[0].state, featurized: report.runs[0].featurized, features: report.runs[0].manifest.counts.features },
        { state: 'complete', featurized: 3, features: 18 },
      );
      await assertExactlyOnce(target, 18);

      const text = await runCli(['status', '--redis', redis.url.replace('redis://', 'redis://:hunter2@')], { env: { FRUITS_REDIS_URL: '' } });
      // This Redis has no password; the point is what gets printed about the URL.
      assert.doesNotMatch(text.stdout + text.stderr, /hunter2/);
      assert.match(text.stdout + text.stderr, /redis:\/\/:\*\*\*@127\.0\.0\.1/);
      const unknown = await runCli(['status', 'no-such-run'], { env: env() });
      assert.equal(unknown.code, 1);
      const down = await runCli(['status', '--redis', 'redis://:hunter2@127.0.0.1:9'], { env: {} });
      assert.equal(down.code, 1);
      assert.match(down.stderr, /cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:9/);
      assert.doesNotMatch(down.stderr, /hunter2/);

      let stderr = '';
      let dashboard: ChildProcess | undefined;
      const served = runCli(['status', '--dashboard', '--port', '0'], {
        env: env(),
        onSpawn: (child) => {
          dashboard = child;
          child.stderr!.on('data', (d) => (stderr += d));
        },
      });
      await poll(() => /http:\/\/127\.0\.0\.1:\d+\//.test(stderr), 'the dashboard to listen', 20_000);
      const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(stderr)![0];
      const api = (await (await fetch(`${url}api/queues`)).json()) as { queues: { name: string; readOnlyMode: boolean }[] };
      assert.deepEqual(
        api.queues.map((q) => [q.name, q.readOnlyMode]),
        [['shards', true]],
      );
      assert.equal((await fetch(url)).status, 200);
      dashboard!.kill('SIGINT');
      assert.equal((await served).code, 0);
    },
  );

  test('a worker prints the EMF PendingShards line, and on SIGTERM finishes the shard in hand and exits 0', { timeout: 90_000 }, async () => {
    await queue.pause();
    const graceful = await fleet.start('graceful', ['--metrics-interval-ms', '200']);
    const target = out('graceful');
    const run = extract([inputB, target]);
    await poll(async () => existsSync(join(target, '_tmp', 'plan.json')) && (await queued()) > 0, 'the shards to be queued');
    await queue.resume();
    const started = await fleet.waitFor(
      () => graceful.lines.find((l) => l.msg === 'job started' && l.stage === 'featurize'),
      20_000,
      'the graceful worker to take a shard',
    );
    graceful.child.kill('SIGTERM');
    const exit = await graceful.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.ok(
      graceful.lines.some((l) => l.msg === 'shard featurized' && l.shard === started.shard),
      `the shard in hand was finished before exiting:\n${graceful.lines.map((l) => JSON.stringify(l)).join('\n')}`,
    );
    const emf = graceful.lines.find((l) => l._aws) as Record<string, any>;
    assert.ok(emf, 'an EMF line');
    assert.deepEqual(emf._aws.CloudWatchMetrics, [{ Namespace: 'Fruits', Dimensions: [['Queue']], Metrics: [{ Name: 'PendingShards', Unit: 'Count' }] }]);
    assert.equal(emf.Queue, 'shards');
    assert.ok(Number.isInteger(emf.PendingShards) && emf.PendingShards >= 0, `PendingShards ${emf.PendingShards}`);
    assert.ok(Math.abs(emf._aws.Timestamp - Date.now()) < 60_000, 'timestamp in ms');
    assert.equal((await run).code, 0);
  });

  test(
    'S3 in and out: input listed from a bucket, output written to a bucket, DuckDB reads it back; a bad image is in errors/',
    { timeout: 90_000 },
    async () => {
      const input = new S3Storage('s3://fruits-test/input/a', { s3Endpoint: s3.endpoint });
      for (const entry of walk(inputA)) await input.write(entry, readFileSync(join(inputA, entry)));
      await input.write('Class B 1/broken.jpg', 'not an image\n');
      const result = await extract(['s3://fruits-test/input/a', 's3://fruits-test/runs/a']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /40 with features, 1 failed, 41 listed, 4 classes, 6 shards/);
      // Read back the way a user would: download the run, query it with DuckDB.
      const local = join(work, 'downloaded');
      const output = new S3Storage('s3://fruits-test/runs/a', { s3Endpoint: s3.endpoint });
      const keys: string[] = [];
      for await (const entry of output.list()) keys.push(entry.key);
      assert.ok(keys.includes('_SUCCESS') && keys.includes('manifest.json') && keys.includes('pca/model.json'), keys.join(', '));
      assert.ok(!keys.some((k) => k.startsWith('_tmp/')), `scratch space removed: ${keys.filter((k) => k.startsWith('_tmp/'))}`);
      for (const key of keys) {
        mkdirSync(join(local, key, '..'), { recursive: true });
        writeFileSync(join(local, key), await output.read(key));
      }
      await assertExactlyOnce(local, imagesA);
      await assertSameOutput(local, reference);
      const errors = await duckdbQuery(`select path, stage, message from read_parquet('${local}/errors/*.parquet')`);
      assert.deepEqual(
        errors.map((e) => [e.path, e.stage]),
        [['Class B 1/broken.jpg', 'decode']],
      );
      assert.equal(JSON.parse(readFileSync(join(local, 'manifest.json'), 'utf8')).input, 's3://fruits-test/input/a');
    },
  );

  async function queued(): Promise<number> {
    const counts = await queue.getJobCounts('waiting', 'prioritized');
    return (counts.waiting ?? 0) + (counts.prioritized ?? 0);
  }

  function runIdFromManifest(dir: string): string {
    return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).runId;
  }
});

function walk(root: string, prefix = ''): string[] {
  return readdirSync(join(root, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(root, join(prefix, e.name)) : [join(prefix, e.name).split('\\').join('/')],
  );
}

async function poll(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
