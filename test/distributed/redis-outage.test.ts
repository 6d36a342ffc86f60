import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, type CliResult } from '../support/cli.js';
import { RedisServer } from '../support/redis-server.js';
import { writeImageFolder } from '../support/synthetic-images.js';
import { writeTinyModel } from '../support/tiny-model.js';
import { WorkerFleet } from './fleet.js';

const skip = RedisServer.unavailableReason();

/**
 * Workers and coordinators when Redis is gone or refuses the password (issue 10, items 1 and 2), against a real
 * redis-server that the tests stop. ECS, Kubernetes and compose send SIGTERM and expect an exit; scripts expect
 * exit codes they can trust.
 */
describe('fruits worker and coordinator when Redis is unreachable', { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fruits-outage-'));
  const model = join(work, 'tiny.onnx');
  const input = join(work, 'input');
  let secured: RedisServer;

  before(async () => {
    writeTinyModel(model);
    await writeImageFolder(input, { classes: 2, perClass: 4 });
    secured = await RedisServer.start(['--requirepass', 'right-password']);
  });

  after(async () => {
    await secured?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  test('a worker whose Redis stopped exits 0 soon after SIGTERM; so does one told twice', { timeout: 30_000 }, async () => {
    for (const signals of [1, 2]) {
      const redis = await RedisServer.start();
      const fleet = new WorkerFleet(redis.url);
      const worker = await fleet.start(`lonely-${signals}`, ['--lock-ms', '1500', '--stalled-ms', '500']);
      await redis.dispose();
      await new Promise((r) => setTimeout(r, 500));
      const t0 = Date.now();
      worker.child.kill('SIGTERM');
      if (signals === 2) setTimeout(() => worker.child.kill('SIGTERM'), 100);
      const exit = await Promise.race([worker.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
      if (!exit) worker.child.kill('SIGKILL');
      assert.ok(exit, `the worker was still alive 10 s after SIGTERM:\n${fleet.dump()}`);
      assert.equal(exit.code, 0, exit.stderr);
      assert.ok(Date.now() - t0 < 5000, `exited after ${Date.now() - t0} ms`);
    }
  });

  test('a worker given a wrong password exits 1 at once with a clear message that does not print the password', { timeout: 30_000 }, async () => {
    const url = `redis://:wrong-password@127.0.0.1:${secured.port}`;
    let child: ChildProcess | undefined;
    const run = runCli(['worker', '--metrics-interval-ms', '0'], { env: { FRUITS_REDIS_URL: url }, onSpawn: (c) => (child = c) });
    const exit = await Promise.race([run, new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000))]);
    if (!exit) child!.kill('SIGKILL');
    assert.ok(exit, 'the worker kept retrying a wrong password');
    assert.equal(exit.code, 1, exit.stderr);
    assert.match(exit.stderr, /RedisAuthError: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the credentials: WRONGPASS/);
    assert.doesNotMatch(exit.stdout + exit.stderr, /wrong-password/);
  });

  test('a coordinator given a wrong password fails before anything is written to the output', { timeout: 30_000 }, async () => {
    const output = join(work, 'runs', 'wrongpass');
    const url = `redis://:wrong-password@127.0.0.1:${secured.port}`;
    const exit = await runCli(['extract', input, output, '--engine', 'bullmq', '--model', model, '--redis', url, '--redis-timeout', '10s'], {
      env: { FRUITS_METRICS_INTERVAL_MS: '0' },
    });
    assert.equal(exit.code, 1, exit.stderr);
    assert.match(exit.stderr, /refused the credentials: WRONGPASS/);
    assert.doesNotMatch(exit.stdout + exit.stderr, /wrong-password/);
    assert.ok(!existsSync(output) || readdirSync(output).length === 0, `the output holds ${existsSync(output) ? readdirSync(output).join(', ') : ''}`);
  });

  /** A coordinator that queued its run (no worker takes it), then Redis stopped. */
  async function coordinatorDuringOutage(
    name: string,
    extra: string[],
  ): Promise<{ redis: RedisServer; child: ChildProcess; run: Promise<CliResult>; stderr: () => string; output: string }> {
    const redis = await RedisServer.start();
    const output = join(work, 'runs', name);
    let child: ChildProcess | undefined;
    let stderr = '';
    const run = runCli(['extract', input, output, '--engine', 'bullmq', '--model', model, '--shard-size', '2', '--batch-size', '2', '--pca-k', '2', ...extra], {
      env: { FRUITS_REDIS_URL: redis.url.replace('redis://', 'redis://:pw-not-needed@'), FRUITS_METRICS_INTERVAL_MS: '0' },
      onSpawn: (c) => {
        child = c;
        c.stderr!.on('data', (d) => (stderr += d));
      },
    });
    await poll(() => /starting run/.test(stderr), 'the coordinator to start');
    await redis.dispose();
    await new Promise((r) => setTimeout(r, 500));
    return { redis, child: child!, run, stderr: () => stderr, output };
  }

  test('Ctrl-C or SIGTERM of a coordinator during a Redis outage exits 130 at once, without _SUCCESS', { timeout: 30_000 }, async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const { child, run, output } = await coordinatorDuringOutage(`interrupted-${signal}`, []);
      const t0 = Date.now();
      child.kill(signal);
      const exit = await Promise.race([run, new Promise<undefined>((r) => setTimeout(() => r(undefined), 8000))]);
      if (!exit) child.kill('SIGKILL');
      assert.ok(exit, `the coordinator was alive 8 s after ${signal}`);
      assert.equal(exit.code, 130, exit.stderr);
      assert.ok(Date.now() - t0 < 4000, `exited after ${Date.now() - t0} ms`);
      assert.ok(!existsSync(join(output, '_SUCCESS')));
    }
  });

  test('a coordinator gives up after --redis-timeout, exit 1, naming the redacted address and the --resume RUN_ID command', { timeout: 30_000 }, async () => {
    const { run, output } = await coordinatorDuringOutage('gave-up', ['--redis-timeout', '3s']);
    const exit = await Promise.race([run, new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000))]);
    assert.ok(exit, 'the coordinator kept waiting for Redis');
    assert.equal(exit.code, 1, exit.stderr);
    const runId = JSON.parse(readFileSync(join(output, '_tmp', 'plan.json'), 'utf8')).spec.runId;
    // The wait is checked about once a second: the coordinator gives up 3–4 s after the outage began.
    assert.match(exit.stderr, /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ unreachable for [34](\.\d)? s/);
    assert.ok(exit.stderr.includes(`fruits extract --resume ${runId} --engine bullmq`), exit.stderr);
    assert.doesNotMatch(exit.stderr, /pw-not-needed/);
    assert.ok(!existsSync(join(output, '_SUCCESS')));
  });

  test('fruits status with rediss:// against a Redis without TLS ends with a message', { timeout: 30_000 }, async () => {
    const t0 = Date.now();
    const exit = await runCli(['status', '--redis', `rediss://127.0.0.1:${secured.port}`], { env: { FRUITS_REDIS_URL: '' } });
    assert.equal(exit.code, 1, exit.stderr);
    assert.match(exit.stderr, /cannot reach Redis at rediss:\/\/127\.0\.0\.1:\d+: no answer within 5 s.*TLS/);
    assert.ok(Date.now() - t0 < 12_000, `took ${Date.now() - t0} ms`);
  });
});

async function poll(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
