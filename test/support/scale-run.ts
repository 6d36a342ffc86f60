import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Manifest } from '../../src/dataset/manifest.js';
import { QUEUE_NAME, QUEUE_PREFIX } from '../../src/engine/bullmq/queue-contract.js';

/**
 * The path of `npm run bench:scale`, shared with its 10^4-image test: synthetic images packed in WebDataset tar
 * shards, a local redis-server, `fruits worker` processes and a coordinator, with Redis memory sampled
 * throughout and the engine's cost per shard taken from the workers' logs. Spawning the CLI is the caller's
 * (the bench runs dist/, the test runs the sources).
 */

export interface Spawned {
  child: ChildProcess;
  done: Promise<number | null>;
}
export type SpawnCli = (args: string[], env: NodeJS.ProcessEnv, onLine?: (line: string, stream: 'stdout' | 'stderr') => void) => Spawned;

// ---------------------------------------------------------------------------------------------------------------
// Input: tiny PNGs in tar files

/**
 * `images` small RGB PNGs (a coloured square on white, colour by class, position by index) in tar files of
 * `perTar` images, WebDataset style: `<key>.png` + `<key>.cls` (the class name). Written directly (ustar headers,
 * PNG chunks), so a million images take seconds, not the minutes an encoder per image would.
 */
export function writeTarInput(
  dir: string,
  options: { images: number; perTar: number; classes: number; size?: number },
): { files: number; bytes: number; ms: number } {
  const started = performance.now();
  const { images, perTar, classes, size = 16 } = options;
  mkdirSync(dir, { recursive: true });
  const palette = Array.from({ length: classes }, (_, c) => [(c * 97) % 256, (c * 57 + 80) % 256, (c * 151 + 40) % 256]);
  let bytes = 0;
  let files = 0;
  for (let first = 0; first < images; first += perTar) {
    const path = join(dir, `train-${String(files).padStart(5, '0')}.tar`);
    const fd = openSync(path, 'w');
    const chunks: Buffer[] = [];
    for (let i = first; i < Math.min(images, first + perTar); i++) {
      const c = i % classes;
      const key = String(i).padStart(8, '0');
      chunks.push(tarMember(`${key}.png`, png(size, palette[c], i)), tarMember(`${key}.cls`, Buffer.from(`class-${String(c).padStart(3, '0')}`)));
    }
    chunks.push(Buffer.alloc(1024));
    const data = Buffer.concat(chunks);
    writeSync(fd, data);
    closeSync(fd);
    bytes += data.length;
    files++;
  }
  return { files, bytes, ms: performance.now() - started };
}

function png(size: number, [r, g, b]: number[], i: number): Buffer {
  const row = 1 + size * 3;
  const raw = Buffer.alloc(row * size, 255);
  const side = Math.max(2, Math.floor(size / 2));
  const x0 = i % (size - side);
  const y0 = Math.floor(i / size) % (size - side);
  for (let y = 0; y < size; y++) {
    raw[y * row] = 0;
    if (y < y0 || y >= y0 + side) continue;
    for (let x = x0; x < x0 + side; x++) raw.set([r, g, b], y * row + 1 + x * 3);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 1 })), chunk('IEND', Buffer.alloc(0))]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  let crc = -1;
  for (let k = 4; k < 8 + data.length; k++) crc = CRC_TABLE[(crc ^ out[k]) & 0xff] ^ (crc >>> 8);
  out.writeUInt32BE((crc ^ -1) >>> 0, 8 + data.length);
  return out;
}

/** One ustar member: 512-byte header, data padded to 512. */
function tarMember(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\u000000', 257, 'binary');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512);
  data.copy(padded);
  return Buffer.concat([header, padded]);
}

// ---------------------------------------------------------------------------------------------------------------
// Redis memory

export interface MemorySample {
  at: number;
  usedBytes: number;
  /** Featurize jobs done so far (from the workers' logs). */
  featurized: number;
}

/** `INFO memory` every `everyMs`; `peak` is Redis's own used_memory_peak (since the server started). */
export class RedisMemory {
  readonly samples: MemorySample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly queue: Queue,
    private readonly redis: Redis,
  ) {}

  static open(redisUrl: string): RedisMemory {
    const url = new URL(redisUrl);
    const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
    const queue = new Queue(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
    queue.on('error', () => {});
    return new RedisMemory(queue, new Redis(connection));
  }

  async info(): Promise<{ used: number; peak: number }> {
    const text = await this.redis.info('memory');
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    return { used: field('used_memory'), peak: field('used_memory_peak') };
  }

  start(everyMs: number, featurized: () => number): void {
    const tick = async () => {
      try {
        this.samples.push({ at: Date.now(), usedBytes: (await this.info()).used, featurized: featurized() });
      } catch {
        // a sample missed
      }
      this.timer = setTimeout(tick, everyMs);
    };
    void tick();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  get pausable(): Queue {
    return this.queue;
  }

  async close(): Promise<void> {
    this.stop();
    await this.queue.close();
    this.redis.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// One distributed run, measured

/** A worker's pino line; `time` is what pino wrote (epoch ms or an ISO string: read it with logTime). */
export interface WorkerLog {
  time: number | string;
  msg?: string;
  worker?: string;
  runId?: string;
  stage?: string;
  shard?: number;
  level?: number;
  seconds?: number;
  ms?: number;
  mergeMs?: number;
  fitMs?: number;
}

export interface RunFigures {
  fanIn: number;
  runId: string;
  shards: number;
  images: number;
  /** Coordinator: from start to the run queued (listing, planning, model publication, enqueue). */
  submitMs: number;
  listMs: number;
  /** The scheduler: storage checks + every Redis transaction of flow 1. */
  enqueueMs: number;
  transactions: number;
  /** Redis used_memory with the run queued and nothing started, minus before; per queued shard job. */
  queuedBytes: number;
  bytesPerPendingShard: number;
  /** used_memory at 0, 25, 50, 75 and 100 % of the shards featurized. */
  memoryByProgress: { featurized: number; usedBytes: number }[];
  redisPeakBytes: number;
  /** From the queue's release to _SUCCESS; end to end adds submitMs. */
  runMs: number;
  endToEndMs: number;
  /** Per featurize job: time between its start and the next job's start on the same worker, minus featurizeShard. */
  engineOverheadMsPerShard: number;
  /** Median and 90th percentile of the featurize jobs measured (engineOverhead). */
  engineOverheadP50Ms: number;
  engineOverheadP90Ms: number;
  featurizeSecondsPerShard: number;
  /** Last shard featurized → PCA written: what the reduce adds to the critical path. */
  reduceTailMs: number;
  rootMergeMs: number;
  fitMs: number;
  /** Merge jobs by level: count and the longest. */
  merges: { level: number; jobs: number; maxMs: number; totalMs: number }[];
  loadAverage: number[];
  manifest: Manifest;
}

export interface ScaleRun {
  spawn: SpawnCli;
  redisUrl: string;
  memory: RedisMemory;
  /** Every worker's log lines so far (re-read while the run goes on). */
  workerLogs: () => WorkerLog[];
  input: string;
  output: string;
  model: string;
  shardSize: number;
  batchSize: number;
  fanIn: number;
  enqueueBatch?: number;
  log?: (line: string) => void;
}

/**
 * A 2-shard run before the measured ones, on the same Redis and workers: Redis loads BullMQ's scripts and grows
 * its tables, the workers download and open the model, so the measured run counts neither. In a fresh Redis those
 * one-time allocations are ~0.5 MB: at 50 shards that alone read as 11 KiB per queued shard (CI), 4× what the
 * shards themselves take.
 */
export async function warmUpRun(run: Omit<ScaleRun, 'input' | 'output' | 'fanIn' | 'log'>, scratch: string): Promise<void> {
  const input = join(scratch, 'warm-up');
  writeTarInput(input, { images: 2 * run.shardSize, perTar: run.shardSize, classes: 2 });
  await measuredRun({ ...run, input, output: join(scratch, 'out-warm-up'), fanIn: 16 });
}

/**
 * Queues the run with the queue paused (so the memory of queued-but-not-started work can be read), then lets
 * the workers go and waits for _SUCCESS. Workers must be running already, on `redisUrl`.
 */
export async function measuredRun(run: ScaleRun): Promise<RunFigures> {
  const { memory } = run;
  const queue = memory.pausable;
  // A previous run's commit job may still be completing (its _SUCCESS is written first): what it frees would
  // otherwise be counted against this run's queued shards.
  while ((await queue.getActiveCount()) > 0) await new Promise((r) => setTimeout(r, 50));
  await queue.pause();
  const before = (await memory.info()).used;
  const stderr: string[] = [];
  const started = Date.now();
  const args = [
    'extract',
    run.input,
    run.output,
    '--engine',
    'bullmq',
    '--redis',
    run.redisUrl,
    '--detach',
    '--model',
    run.model,
    '--shard-size',
    String(run.shardSize),
    '--batch-size',
    String(run.batchSize),
    '--pca-k',
    '8',
    '--reduce-fan-in',
    String(run.fanIn),
    ...(run.enqueueBatch ? ['--enqueue-batch', String(run.enqueueBatch)] : []),
  ];
  const coordinator = run.spawn(args, { FRUITS_METRICS_INTERVAL_MS: '0' }, (line, stream) => {
    if (stream === 'stderr') stderr.push(line);
  });
  const code = await coordinator.done;
  const submitMs = Date.now() - started;
  if (code !== 0) throw new Error(`the coordinator exited with ${code}:\n${stderr.join('\n')}`);
  const runId = JSON.parse(readFileSync(join(run.output, '_tmp', 'plan.json'), 'utf8')).spec.runId as string;
  const queuedLine = stderr.map((l) => /queued featurize: (\d+) of (\d+) shard\(s\) in (\d+) Redis transaction\(s\), (\d+) ms/.exec(l)).find(Boolean);
  if (!queuedLine) throw new Error(`the coordinator did not say what it queued:\n${stderr.join('\n')}`);
  const shards = Number(queuedLine[2]);
  const queuedBytes = (await memory.info()).used - before;
  const featurized = () => run.workerLogs().filter((l) => l.runId === runId && l.msg === 'shard featurized').length;
  run.log?.(`queued ${shards} shards in ${queuedLine[3]} transactions (${queuedLine[4]} ms); Redis +${(queuedBytes / 1024).toFixed(0)} KiB`);
  memory.samples.length = 0;
  memory.start(200, featurized);
  const released = Date.now();
  await queue.resume();
  let reported = 0;
  while (!existsSync(join(run.output, '_SUCCESS')) || existsSync(join(run.output, '_tmp'))) {
    await new Promise((r) => setTimeout(r, 100));
    const done = featurized();
    if (run.log && done - reported >= Math.max(1, shards / 10)) {
      reported = done;
      run.log(
        `${done}/${shards} shards featurized, ${((Date.now() - released) / 1000).toFixed(0)} s, Redis ${((memory.samples.at(-1)?.usedBytes ?? 0) / 1048576).toFixed(1)} MiB, load ${loadavg()[0].toFixed(1)}`,
      );
    }
    const failed = run.workerLogs().find((l) => l.runId === runId && l.msg === 'job failed');
    if (failed) throw new Error(`a job of the run failed: ${JSON.stringify(failed)}`);
  }
  const runMs = Date.now() - released;
  memory.stop();
  const { peak } = await memory.info();
  const manifest = JSON.parse(readFileSync(join(run.output, 'manifest.json'), 'utf8')) as Manifest;
  const logs = run.workerLogs().filter((l) => l.runId === runId);
  const lastFeaturized = Math.max(...logs.filter((l) => l.msg === 'shard featurized').map(logTime));
  const fitted = logs.find((l) => l.msg === 'pca fitted');
  const merges = new Map<number, { level: number; jobs: number; maxMs: number; totalMs: number }>();
  for (const l of logs.filter((x) => x.msg === 'moments merged')) {
    const m = merges.get(l.level!) ?? { level: l.level!, jobs: 0, maxMs: 0, totalMs: 0 };
    m.jobs++;
    m.maxMs = Math.max(m.maxMs, l.ms ?? 0);
    m.totalMs += l.ms ?? 0;
    merges.set(l.level!, m);
  }
  const byProgress = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const target = Math.round(f * shards);
    const sample = memory.samples.find((s) => s.featurized >= target) ?? memory.samples.at(-1);
    return { featurized: sample?.featurized ?? 0, usedBytes: sample?.usedBytes ?? 0 };
  });
  const overhead = engineOverhead(logs);
  return {
    fanIn: run.fanIn,
    runId,
    shards,
    images: manifest.counts.listed,
    submitMs,
    listMs: manifest.timings.listMs,
    enqueueMs: Number(queuedLine[4]),
    transactions: Number(queuedLine[3]),
    queuedBytes,
    bytesPerPendingShard: queuedBytes / shards,
    memoryByProgress: byProgress,
    redisPeakBytes: peak,
    runMs,
    endToEndMs: submitMs + runMs,
    engineOverheadMsPerShard: overhead.perShardMs,
    engineOverheadP50Ms: overhead.p50Ms,
    engineOverheadP90Ms: overhead.p90Ms,
    featurizeSecondsPerShard: overhead.featurizeSeconds,
    reduceTailMs: fitted ? logTime(fitted) - lastFeaturized : NaN,
    rootMergeMs: fitted?.mergeMs ?? NaN,
    fitMs: fitted?.fitMs ?? NaN,
    merges: [...merges.values()].sort((a, b) => a.level - b.level),
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    manifest,
  };
}

export function logTime(l: WorkerLog): number {
  return typeof l.time === 'number' ? l.time : Date.parse(l.time);
}

/** The engine's cost per shard: its mean, and the median and 90th percentile of the jobs measured. */
export interface EngineOverhead {
  perShardMs: number;
  p50Ms: number;
  p90Ms: number;
  featurizeSeconds: number;
  /** Featurize jobs measured (followed by another featurize job on the same worker). */
  samples: number;
}

/**
 * The engine's cost per shard, from the workers' logs: for a featurize job followed by another featurize job on
 * the same worker (concurrency 1), the time between the two starts minus the time featurizeShard took. What is
 * left is the job's own bookkeeping (plan lookup, marker check, progress) and the queue round trip (completion,
 * the parent's update, fetching the next job). Each worker's first job (model download, session opening) is
 * left out, and so is a featurize job followed by a job of another stage: a merge, reduce or project job is
 * queued only once its inputs are done, so the time before it starts is the worker waiting for the other workers
 * or for the reduce, not the engine's cost. Counting that wait (one per worker: the reduce's tail, reported
 * apart) made the figure of the 10^6-image run 7.3 ms, and 28 ms with a flat reduce whose tail is 48 s; without
 * it, the same path at 10^5 images gives 2.7 and 3.3 ms (bench:scale, 2,000 shards, 2 workers).
 */
export function engineOverhead(logs: WorkerLog[]): EngineOverhead {
  const byWorker = new Map<string, WorkerLog[]>();
  for (const l of logs)
    if (l.msg === 'job started' || l.msg === 'shard featurized') byWorker.set(l.worker ?? '?', [...(byWorker.get(l.worker ?? '?') ?? []), l]);
  const overheads: number[] = [];
  const seconds: number[] = [];
  for (const list of byWorker.values()) {
    list.sort((a, b) => logTime(a) - logTime(b));
    const starts = list.filter((l) => l.msg === 'job started');
    for (let i = 1; i + 1 < starts.length; i++) {
      const job = starts[i];
      if (job.stage !== 'featurize' || starts[i + 1].stage !== 'featurize') continue;
      const done = list.find((l) => l.msg === 'shard featurized' && l.shard === job.shard && logTime(l) >= logTime(job));
      const ms = done?.ms ?? (done?.seconds === undefined ? undefined : done.seconds * 1000);
      if (ms === undefined) continue;
      overheads.push(logTime(starts[i + 1]) - logTime(job) - ms);
      seconds.push(ms / 1000);
    }
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const sorted = [...overheads].sort((a, b) => a - b);
  const quantile = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
  return { perShardMs: mean(overheads), p50Ms: quantile(0.5), p90Ms: quantile(0.9), featurizeSeconds: mean(seconds), samples: overheads.length };
}
