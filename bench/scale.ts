/**
 * npm run bench:scale — a million images through the BullMQ engine on one machine (issue 13 item 5):
 *   1. N small synthetic PNGs (default 1,000,000) packed in WebDataset tar files (so the file system is not the
 *      test), and the tiny generated model (test/support/tiny-model.ts);
 *   2. a local redis-server and W `fruits worker` processes (default 2, 1 onnxruntime thread each);
 *   3. the run queued with the queue paused (Redis memory of queued work), then released; Redis `INFO memory`
 *      sampled every 200 ms; the engine's cost per shard from the workers' logs;
 *   4. with --flat (default when there are ≥ 2,000 shards) the same input again with a flat merge (fan-in ≥
 *      shards), to compare the reduce's tail, and the two PCA models compared byte for byte.
 * Prints a table, saves the JSON in bench-results/. `--images 100000` for a shorter run.
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RedisServer } from '../test/support/redis-server.js';
import { measuredRun, RedisMemory, warmUpRun, writeTarInput, type RunFigures, type SpawnCli, type WorkerLog } from '../test/support/scale-run.js';
import { writeTinyModel } from '../test/support/tiny-model.js';
import { cliArgs } from './cli.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '1000000' },
    'shard-size': { type: 'string', default: '500' },
    'per-tar': { type: 'string', default: '10000' },
    classes: { type: 'string', default: '10' },
    workers: { type: 'string', default: '2' },
    'batch-size': { type: 'string', default: '50' },
    'fan-in': { type: 'string', default: '16' },
    flat: { type: 'boolean' },
    'no-flat': { type: 'boolean' },
    scratch: { type: 'string' },
    out: { type: 'string', default: 'bench-results' },
  },
});
const images = Number(values.images);
const shardSize = Number(values['shard-size']);
const workers = Number(values.workers);
const shards = Math.ceil(images / shardSize);
const flat = values['no-flat'] ? false : (values.flat ?? shards >= 2000);
const say = (line: string) => console.error(`bench:scale [${new Date().toISOString().slice(11, 19)}] ${line}`);

const spawnCli: SpawnCli = (args, env, onLine) => {
  const child = spawn(process.execPath, cliArgs(args), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  for (const stream of ['stdout', 'stderr'] as const) {
    let buffer = '';
    child[stream]!.on('data', (chunk: Buffer) => {
      buffer += chunk;
      const lines = buffer.split(/\r?\n|\r/);
      buffer = lines.pop()!;
      for (const line of lines) onLine?.(line, stream);
    });
  }
  return { child, done: new Promise((resolve, reject) => child.on('error', reject).on('close', resolve)) };
};

const scratch = values.scratch ?? mkdtempSync(join(tmpdir(), 'fruits-bench-scale-'));
mkdirSync(scratch, { recursive: true });
const input = join(scratch, 'input');
const model = writeTinyModel(join(scratch, 'tiny.onnx'));
say(`writing ${images} images in tar files of ${values['per-tar']} under ${input} …`);
const written = writeTarInput(input, { images, perTar: Number(values['per-tar']), classes: Number(values.classes) });
say(`${written.files} tar files, ${(written.bytes / 1048576).toFixed(0)} MiB, ${(written.ms / 1000).toFixed(1)} s`);

const redis = await RedisServer.start();
const memory = RedisMemory.open(redis.url);
const workerLogs: WorkerLog[] = [];
const fleet = Array.from({ length: workers }, (_, i) =>
  spawnCli(
    ['worker', '--redis', redis.url, '--threads', '1', '--name', `scale-${i}`, '--metrics-interval-ms', '0', '--allow', scratch],
    { XDG_CACHE_HOME: join(scratch, `cache-${i}`) },
    (line, stream) => {
      if (stream !== 'stdout') return;
      try {
        workerLogs.push(JSON.parse(line) as WorkerLog);
      } catch {
        // not a log line
      }
    },
  ),
);
const runs: RunFigures[] = [];
try {
  while (workerLogs.filter((l) => l.msg === 'worker started').length < workers) await new Promise((r) => setTimeout(r, 100));
  await warmUpRun(
    { spawn: spawnCli, redisUrl: redis.url, memory, workerLogs: () => workerLogs, model, shardSize, batchSize: Number(values['batch-size']) },
    scratch,
  );
  const fanIns = [Number(values['fan-in']), ...(flat ? [Math.max(2, 2 ** Math.ceil(Math.log2(shards)))] : [])];
  for (const fanIn of fanIns) {
    say(`run with reduce fan-in ${fanIn} (${shards} shards of ${shardSize}) …`);
    const output = join(scratch, `out-fan-in-${fanIn}`);
    runs.push(
      await measuredRun({
        spawn: spawnCli,
        redisUrl: redis.url,
        memory,
        workerLogs: () => workerLogs,
        input,
        output,
        model,
        shardSize,
        batchSize: Number(values['batch-size']),
        fanIn,
        log: say,
      }),
    );
    const last = runs.at(-1)!;
    say(
      `done: ${(last.endToEndMs / 1000).toFixed(1)} s end to end, reduce tail ${last.reduceTailMs} ms, engine ${last.engineOverheadMsPerShard.toFixed(2)} ms/shard (p50 ${last.engineOverheadP50Ms.toFixed(1)}, p90 ${last.engineOverheadP90Ms.toFixed(1)})`,
    );
    if (runs.length > 1) {
      const a = readFileSync(join(scratch, `out-fan-in-${fanIns[0]}`, 'pca', 'model.json'));
      const b = readFileSync(join(output, 'pca', 'model.json'));
      if (!a.equals(b)) throw new Error(`the PCA of fan-in ${fanIn} differs from the one of fan-in ${fanIns[0]}`);
      say('PCA models identical byte for byte across fan-ins');
    }
  }
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadAverageAtEnd: loadavg() },
    settings: { images, shardSize, shards, workers, perTar: Number(values['per-tar']), batchSize: Number(values['batch-size']) },
    input: { tarFiles: written.files, bytes: written.bytes, writeMs: Math.round(written.ms) },
    runs: runs.map(({ manifest, ...figures }) => ({ ...figures, counts: manifest.counts, timings: manifest.timings })),
  };
  mkdirSync(values.out, { recursive: true });
  const file = join(values.out, `scale-${result.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const rows = runs.map(
    (r) =>
      `| fan-in ${r.fanIn} | ${s(r.endToEndMs)} | ${s(r.listMs)} | ${s(r.enqueueMs)} (${r.transactions} tx) | ${(r.bytesPerPendingShard / 1024).toFixed(2)} KiB | ${r.memoryByProgress.map((m) => mib(m.usedBytes)).join(' → ')} | ${mib(r.redisPeakBytes)} | ${r.engineOverheadMsPerShard.toFixed(2)} ms (p50 ${r.engineOverheadP50Ms.toFixed(1)}, p90 ${r.engineOverheadP90Ms.toFixed(1)}) | ${s(r.reduceTailMs)} (root ${s(r.rootMergeMs)}, fit ${s(r.fitMs)}) | ${r.merges.map((m) => `L${m.level}: ${m.jobs} × ≤ ${m.maxMs} ms`).join(', ') || '—'} | ${r.loadAverage.join(' ')} |`,
  );
  console.log(`${images} images, ${shards} shards of ${shardSize}, ${workers} workers × 1 onnxruntime thread, ${cpus().length} CPUs (${cpus()[0]?.model})

| run | end to end | listing + planning | enqueue | Redis per queued shard | Redis used at 0/25/50/75/100 % featurized | Redis peak | engine cost per shard | reduce tail (last shard → PCA) | merge jobs | load average |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}
saved ${file}`);
} finally {
  for (const worker of fleet) worker.child.kill('SIGTERM');
  await Promise.all(fleet.map((w) => w.done));
  await memory.close();
  await redis.dispose();
  if (!values.scratch) rmSync(scratch, { recursive: true, force: true });
}
