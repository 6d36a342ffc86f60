/**
 * npm run bench — the featurization benchmark of the README, all figures from one run on this machine:
 *   1. raw model throughput (random batches, the engine's thread settings), measured before AND after the run,
 *   2. end-to-end `fruits extract` throughput and wall time (list → decode → model → PCA → Parquet),
 *   3. the ratio 2 ÷ 1, 4. PCA time (merge of shard moments + eigen-decomposition), 5. peak RSS.
 * Input: $FRUITS_DATA_DIR/fruits-360-test when present (or --input DIR); model: the usual lookup (--model).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchInput, cliArgs } from './cli.js';
import { rawThroughput } from './raw-model.js';
import { ensureModel } from '../src/model/provision/index.js';
import type { Manifest } from '../src/dataset/manifest.js';

const { values } = parseArgs({
  options: {
    input: { type: 'string' },
    model: { type: 'string' },
    workers: { type: 'string' },
    'batch-size': { type: 'string' },
    'raw-seconds': { type: 'string' },
    out: { type: 'string' },
  },
});
const input = benchInput('bench', values.input);
const modelPath = (await ensureModel({ model: values.model })).path;
const workers = Number(values.workers ?? availableParallelism());
const batchSize = Number(values['batch-size'] ?? 16);
const rawSeconds = Number(values['raw-seconds'] ?? 20);

const rawSetting = { sessions: workers, threads: 1, batchSize };

async function extract(output: string): Promise<{ manifest: Manifest; wallMs: number; maxRssMb: number }> {
  const usageFile = join(output, '..', 'usage.json');
  const started = performance.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      cliArgs(
        ['extract', input, output, '--model', modelPath, '--workers', String(workers), '--batch-size', String(batchSize), '--quiet'],
        [new URL('./report-usage.mjs', import.meta.url).pathname],
      ),
      { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, FRUITS_BENCH_USAGE: usageFile } },
    );
    child.on('error', reject);
    child.on('close', resolve);
  });
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`extract exited with ${code}`);
  const manifest = JSON.parse(readFileSync(join(output, 'manifest.json'), 'utf8')) as Manifest;
  const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as NodeJS.ResourceUsage;
  return { manifest, wallMs, maxRssMb: usage.maxRSS / 1024 };
}

const scratch = mkdtempSync(join(tmpdir(), 'fruits-bench-'));
try {
  console.error(`bench: raw model, ${workers} threads × 1 onnxruntime thread, batch ${batchSize}, ${rawSeconds} s…`);
  const rawBefore = await rawThroughput(modelPath, rawSetting, rawSeconds);
  console.error(`bench: extract ${input} …`);
  const run = await extract(join(scratch, 'out'));
  console.error('bench: raw model again…');
  const rawAfter = await rawThroughput(modelPath, rawSetting, rawSeconds);
  const raw = (rawBefore + rawAfter) / 2;
  const t = run.manifest.timings;
  const endToEnd = run.manifest.counts.listed / (run.wallMs / 1000);
  const featurizeOnly = run.manifest.counts.listed / (t.featurizeMs / 1000);
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    input,
    images: run.manifest.counts.listed,
    settings: { workers, onnxruntimeThreads: 1, batchSize, shardSize: run.manifest.options.shardSize },
    rawModelImagesPerSecond: { before: round(rawBefore), after: round(rawAfter), mean: round(raw) },
    extract: {
      wallSeconds: round(run.wallMs / 1000),
      imagesPerSecond: round(endToEnd),
      featurizeStageImagesPerSecond: round(featurizeOnly),
      pcaK: run.manifest.pca.k,
    },
    ratioEndToEndToRaw: round(endToEnd / raw, 3),
    ratioFeaturizeStageToRaw: round(featurizeOnly / raw, 3),
    pcaSeconds: { mergeMoments: round(t.pcaMergeMs / 1000), eigenFit: round(t.pcaFitMs / 1000), total: round((t.pcaMergeMs + t.pcaFitMs) / 1000) },
    peakRssMb: round(run.maxRssMb),
    stageSeconds: {
      list: round(t.listMs / 1000),
      featurize: round(t.featurizeMs / 1000),
      pca: round((t.pcaMergeMs + t.pcaFitMs) / 1000),
      project: round(t.projectMs / 1000),
      commit: round(t.commitMs / 1000),
    },
  };
  const dir = values.out ?? 'bench-results';
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `pipeline-${result.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`| figure | value |
| --- | --- |
| images | ${result.images} |
| raw model (random batches, ${workers}×1 threads, batch ${batchSize}) | ${result.rawModelImagesPerSecond.mean} images/s (before ${result.rawModelImagesPerSecond.before}, after ${result.rawModelImagesPerSecond.after}) |
| end-to-end extract | ${result.extract.imagesPerSecond} images/s, ${result.extract.wallSeconds} s wall |
| ratio end-to-end ÷ raw | ${result.ratioEndToEndToRaw} |
| featurize stage ÷ raw | ${result.ratioFeaturizeStageToRaw} |
| PCA (merge + fit, k=${result.extract.pcaK}) | ${result.pcaSeconds.total} s (merge ${result.pcaSeconds.mergeMoments} s, eigen ${result.pcaSeconds.eigenFit} s) |
| peak RSS | ${result.peakRssMb} MB |
saved ${file}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
