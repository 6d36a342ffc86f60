/**
 * npm run bench:cluster — the distributed engine against the local one, same input, same machine, same run:
 *   1. local engine: `fruits extract --workers W` (W threads × 1 onnxruntime thread),
 *   2. bullmq engine: W `fruits worker --threads 1` processes (started before, as a fleet is) and
 *      `fruits extract --engine bullmq` as the coordinator, on a temporary redis-server (or --redis URL),
 *   3. both throughputs (images / wall second of the extract command), their ratio (target ≥ 0.9), and the
 *      engine's cost per shard: from a featurize job's start to the next job's start on the same worker, minus
 *      the time in featurizeShard (queue round trip, plan lookup, marker check, progress updates).
 * Input: $FRUITS_DATA_DIR/fruits-360-test when present (or --input DIR); model: the usual lookup (--model).
 * Prints a table and saves the JSON in bench-results/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Manifest } from '../src/dataset/manifest.js';
import { RedisTarget } from '../src/engine/bullmq/connection.js';
import { ensureModel } from '../src/model/provision/index.js';
import { RedisServer } from '../test/support/redis-server.js';
import { engineOverhead, type WorkerLog } from '../test/support/scale-run.js';
import { benchInput, cliArgs } from './cli.js';

const { values } = parseArgs({
  options: {
    input: { type: 'string' },
    model: { type: 'string' },
    workers: { type: 'string' },
    'batch-size': { type: 'string' },
    'shard-size': { type: 'string' },
    redis: { type: 'string' },
    out: { type: 'string' },
  },
});
const input = benchInput('bench:cluster', values.input);
const modelPath = (await ensureModel({ model: values.model })).path;
const workers = Number(values.workers ?? availableParallelism());
const batchSize = Number(values['batch-size'] ?? 16);
const shardSize = Number(values['shard-size'] ?? 512);
const common = ['--model', modelPath, '--batch-size', String(batchSize), '--shard-size', String(shardSize), '--quiet'];

function cli(args: string[], env: NodeJS.ProcessEnv = {}, onLine?: (line: string) => void): { child: ChildProcess; done: Promise<number | null> } {
  const child = spawn(process.execPath, cliArgs(args), {
    stdio: ['ignore', onLine ? 'pipe' : 'ignore', 'inherit'],
    env: { ...process.env, FRUITS_METRICS_INTERVAL_MS: '0', ...env },
  });
  if (onLine) {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      lines.forEach(onLine);
    });
  }
  return { child, done: new Promise((resolve, reject) => child.on('error', reject).on('close', resolve)) };
}

async function timedExtract(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ manifest: Manifest; wallMs: number }> {
  const started = performance.now();
  const code = await cli(['extract', ...args, ...common], env).done;
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`extract ${args.join(' ')} exited with ${code}`);
  return { manifest: JSON.parse(readFileSync(join(args[1], 'manifest.json'), 'utf8')) as Manifest, wallMs };
}

interface LogLine {
  msg?: string;
  runId?: string;
  shard?: number;
  seconds?: number;
}

const scratch = mkdtempSync(join(tmpdir(), 'fruits-bench-cluster-'));
const server = values.redis ? undefined : await RedisServer.start();
const redisUrl = values.redis ?? server!.url;
const fleet: { child: ChildProcess; done: Promise<number | null> }[] = [];
const logs: LogLine[] = [];
try {
  console.error(`bench:cluster: local engine, ${workers} threads × 1 onnxruntime thread, on ${input} …`);
  const local = await timedExtract([input, join(scratch, 'local'), '--workers', String(workers), '--threads', '1']);

  console.error(`bench:cluster: starting ${workers} workers (1 onnxruntime thread each) on ${RedisTarget.parse(redisUrl).redacted} …`);
  let ready = 0;
  const allReady = new Promise<void>((resolve) => {
    for (let i = 0; i < workers; i++) {
      fleet.push(
        // A worker accepts only what it is allowed (default: its current directory): the input and the scratch output.
        cli(
          ['worker', '--redis', redisUrl, '--threads', '1', '--name', `bench-${i}`, '--metrics-interval-ms', '0', '--allow', input, '--allow', scratch],
          { XDG_CACHE_HOME: join(scratch, `cache-${i}`) },
          (line) => {
            const parsed = JSON.parse(line) as LogLine;
            logs.push(parsed);
            if (parsed.msg === 'worker started' && ++ready === workers) resolve();
          },
        ),
      );
    }
  });
  await allReady;
  console.error('bench:cluster: bullmq engine …');
  const distributed = await timedExtract([input, join(scratch, 'bullmq'), '--engine', 'bullmq', '--redis', redisUrl]);
  // Completed shard jobs are no longer kept in Redis (issue 13 item 4): the workers' logs time them.
  const measured = engineOverhead(logs.filter((l) => l.runId === distributed.manifest.runId) as WorkerLog[]);
  const overhead = { jobs: measured.samples, totalMs: round(measured.perShardMs, 2) };

  const throughput = (r: { manifest: Manifest; wallMs: number }) => r.manifest.counts.listed / (r.wallMs / 1000);
  const featurizeStage = (r: { manifest: Manifest }) => r.manifest.counts.listed / (r.manifest.timings.featurizeMs / 1000);
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    input,
    images: local.manifest.counts.listed,
    settings: { workers, onnxruntimeThreads: 1, batchSize, shardSize, shards: local.manifest.counts.shards },
    local: { wallSeconds: round(local.wallMs / 1000), imagesPerSecond: round(throughput(local)), featurizeStageImagesPerSecond: round(featurizeStage(local)) },
    bullmq: {
      wallSeconds: round(distributed.wallMs / 1000),
      imagesPerSecond: round(throughput(distributed)),
      featurizeStageImagesPerSecond: round(featurizeStage(distributed)),
    },
    ratioBullmqToLocal: round(throughput(distributed) / throughput(local), 3),
    ratioFeaturizeStage: round(featurizeStage(distributed) / featurizeStage(local), 3),
    target: 0.9,
    perShardOverheadMs: overhead,
  };
  const dir = values.out ?? 'bench-results';
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `cluster-${result.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`| figure | value |
| --- | --- |
| images, shards | ${result.images} images, ${result.settings.shards} shards of ${shardSize}, batch ${batchSize} |
| local engine (${workers} threads × 1) | ${result.local.imagesPerSecond} images/s, ${result.local.wallSeconds} s wall (featurize stage ${result.local.featurizeStageImagesPerSecond} images/s) |
| bullmq engine (${workers} workers × 1) | ${result.bullmq.imagesPerSecond} images/s, ${result.bullmq.wallSeconds} s wall (featurize stage ${result.bullmq.featurizeStageImagesPerSecond} images/s) |
| ratio bullmq ÷ local | ${result.ratioBullmqToLocal} end to end, ${result.ratioFeaturizeStage} featurize stage (target ≥ ${result.target}) |
| engine cost per shard | ${overhead.totalMs} ms: from a featurize job's start to the next job's start on its worker, minus featurizeShard (${overhead.jobs} featurize jobs) |
saved ${file}`);
} finally {
  for (const worker of fleet) worker.child.kill('SIGTERM');
  await Promise.all(fleet.map((w) => w.done));
  await server?.dispose();
  rmSync(scratch, { recursive: true, force: true });
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
