/**
 * npm run bench:int8 — is an int8 MobileNetV2 worth it on this CPU? All figures from one run:
 *   1. builds the fp32 graph and int8 graphs from the same Keras weights (src/model/builder/), calibrated on
 *      `--calibration` Fruits-360 Test images that are not in the 423-image sample (evenly spaced, deterministic),
 *   2. fidelity on the sample: cosine of each int8 model's 1280-d features to fp32 (mean, min), and leave-one-out
 *      1-NN accuracy (cosine) of every model,
 *   3. raw throughput of the bare models on the same batch, interleaved round by round (fp32, int8 a, int8 b, …,
 *      fp32, …) so that the machine's drift hits all of them alike; ratios to fp32 per round, wall clock and per
 *      CPU-second (one onnxruntime thread: CPU time is what the model used, whatever else ran on the machine),
 *   4. what onnxruntime made of each graph (QLinearConv count after optimisation: the QDQ pairs were fused).
 * `--models fp32,int8-faithful,…` keeps only those graphs (fp32 always first); `--skip-fidelity` measures speed
 * only (then a small `--calibration` is enough: ranges do not change the work the kernels do).
 * `--profile` adds onnxruntime's per-node kernel times of fp32 and two int8 graphs, summed by conv output size.
 * Needs FRUITS_MODEL_DIR and FRUITS_DATA_DIR (or --model-dir / --data-dir). Writes bench-results/int8-<time>.json.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { decodeImage } from '../src/images/decode.js';
import { normalisation, writeImageInto } from '../src/images/normalize.js';
import { loadWeights } from '../src/model/builder/build-model.js';
import { calibrateRanges } from '../src/model/builder/calibrate.js';
import { buildMobileNetV2Onnx } from '../src/model/builder/mobilenet-v2-graph.js';
import { buildMobileNetV2Int8Onnx, faithfulInt8Options, quantizedTensors, type Int8GraphOptions } from '../src/model/builder/mobilenet-v2-int8-graph.js';

const { values } = parseArgs({
  options: {
    'model-dir': { type: 'string' },
    'data-dir': { type: 'string' },
    calibration: { type: 'string' },
    percentile: { type: 'string' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    'batch-size': { type: 'string' },
    threads: { type: 'string' },
    out: { type: 'string' },
    profile: { type: 'boolean' },
    models: { type: 'string' },
    'skip-fidelity': { type: 'boolean' },
  },
});
const modelDir = values['model-dir'] ?? process.env.FRUITS_MODEL_DIR;
const dataDir = values['data-dir'] ?? process.env.FRUITS_DATA_DIR;
if (!modelDir || !dataDir) {
  console.error('bench:int8 needs the shared assets: set FRUITS_MODEL_DIR and FRUITS_DATA_DIR (or --model-dir / --data-dir)');
  process.exit(2);
}
const calibrationCount = Number(values.calibration ?? 256);
const percentile = Number(values.percentile ?? 99.999);
const rounds = Number(values.rounds ?? 6);
const seconds = Number(values.seconds ?? 2);
const batchSize = Number(values['batch-size'] ?? 16);
const threads = Number(values.threads ?? 1);
const PER_IMAGE = 224 * 224 * 3;

function listImages(root: string): string[] {
  return readdirSync(root)
    .sort()
    .flatMap((c) =>
      readdirSync(join(root, c))
        .sort()
        .map((f) => join(c, f)),
    );
}

async function loadImages(root: string, files: string[]): Promise<Float32Array> {
  const out = new Float32Array(files.length * PER_IMAGE);
  const norm = normalisation('keras', 'nhwc');
  for (let i = 0; i < files.length; i++) writeImageInto(out, i, await decodeImage(readFileSync(join(root, files[i]))), 224, norm);
  return out;
}

const load = () => loadavg().map((v) => Number(v.toFixed(2)));
const started = { at: new Date().toISOString(), loadavg: load() };
const sampleRoot = join(dataDir, 'fruits-360-sample');
const testRoot = join(dataDir, 'fruits-360-test');
const sampleFiles = listImages(sampleRoot);
const inSample = new Set(sampleFiles);
const candidates = listImages(testRoot).filter((f) => !inSample.has(f));
const calibrationFiles = Array.from({ length: calibrationCount }, (_, i) => candidates[Math.floor((i * candidates.length) / calibrationCount)]);
const sample = await loadImages(sampleRoot, sampleFiles);
const calibration = await loadImages(testRoot, calibrationFiles);
const labels = sampleFiles.map((f) => f.split('/')[0]);

const { weights, source } = await loadWeights(join(modelDir, 'mobilenet_v2_1.0_224_nhwc_weights'));
const fp32 = buildMobileNetV2Onnx(weights);
const names = quantizedTensors();
let t = performance.now();
console.error(`bench:int8: calibrating on ${calibrationCount} Test images (min-max, then percentile ${percentile})…`);
const minmax = await calibrateRanges(fp32, calibration, calibrationCount, names, { method: 'minmax', threads });
const pct = await calibrateRanges(fp32, calibration, calibrationCount, names, { method: 'percentile', percentile, threads });
const calibrationSeconds = (performance.now() - t) / 1000;

const guarded = { reduceRange: 'asymmetric-inputs', biasCorrection: true } as const;
const variants: { name: string; description: string; bytes: Uint8Array }[] = [
  { name: 'fp32', description: 'float32 graph of the project builder (= the prebuilt model)', bytes: fp32 },
  ...(
    [
      ['int8-faithful', 'QDQ u8s8, stem + block 0 float, bias correction, 7-bit weights on zero-point inputs, percentile', faithfulInt8Options(pct)],
      ['int8-faithful-minmax', 'the same, min-max ranges', faithfulInt8Options(minmax)],
      [
        'int8-qdq-u8-all',
        'QDQ u8s8, every conv but the head int8, bias correction, 7-bit on zero-point inputs',
        { ranges: pct, form: 'qdq', activations: 'uint8', ...guarded },
      ],
      [
        'int8-qop-u8-all',
        'QOperator (QLinearConv, QLinearAdd) u8s8, same quantisation as int8-qdq-u8-all',
        { ranges: pct, form: 'qoperator', activations: 'uint8', ...guarded },
      ],
      ['int8-qdq-s8-all', 'QDQ s8s8 (int8 activations), otherwise as int8-qdq-u8-all', { ranges: pct, form: 'qdq', activations: 'int8', ...guarded }],
      [
        'int8-qdq-u8-naive',
        'QDQ u8s8, every conv but the head int8, 8-bit weights everywhere, no bias correction',
        { ranges: pct, form: 'qdq', activations: 'uint8' },
      ],
    ] as [string, string, Int8GraphOptions][]
  ).map(([name, description, options]) => ({ name, description, bytes: buildMobileNetV2Int8Onnx(weights, options) })),
];

const only = values.models?.split(',');
if (only) variants.splice(0, variants.length, ...variants.filter((v) => v.name === 'fp32' || only.includes(v.name)));
const scratch = mkdtempSync(join(tmpdir(), 'fruits-int8-'));
const sessions: ort.InferenceSession[] = [];
const fusedOps: Record<string, number>[] = [];
try {
  for (const v of variants) {
    const optimized = join(scratch, `${v.name}.opt.onnx`);
    sessions.push(
      await ort.InferenceSession.create(v.bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        optimizedModelFilePath: optimized,
        logSeverityLevel: 3,
      }),
    );
    const counts: Record<string, number> = {};
    for (const node of onnxProto.onnx.ModelProto.decode(readFileSync(optimized)).graph!.node!) counts[node.opType!] = (counts[node.opType!] ?? 0) + 1;
    fusedOps.push(counts);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

async function features(session: ort.InferenceSession): Promise<Float32Array> {
  const n = sampleFiles.length;
  const out = new Float32Array(n * 1280);
  for (let i = 0; i < n; i += batchSize) {
    const m = Math.min(batchSize, n - i);
    const r = await session.run({ input: new ort.Tensor('float32', sample.subarray(i * PER_IMAGE, (i + m) * PER_IMAGE), [m, 224, 224, 3]) });
    out.set(r.features.data as Float32Array, i * 1280);
  }
  return out;
}

function unit(f: Float32Array): Float32Array {
  const out = new Float32Array(f.length);
  for (let i = 0; i < f.length; i += 1280) {
    let s = 0;
    for (let j = 0; j < 1280; j++) s += f[i + j] ** 2;
    const k = 1 / Math.sqrt(s || 1);
    for (let j = 0; j < 1280; j++) out[i + j] = f[i + j] * k;
  }
  return out;
}

/** Leave-one-out 1-NN accuracy (cosine) on the sample: each image labelled by its nearest other image. */
function leaveOneOut(u: Float32Array): number {
  const n = labels.length;
  let right = 0;
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    let at = -1;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let d = 0;
      for (let k = 0; k < 1280; k++) d += u[i * 1280 + k] * u[j * 1280 + k];
      if (d > best) [best, at] = [d, j];
    }
    if (labels[at] === labels[i]) right++;
  }
  return right / n;
}

t = performance.now();
const reference = values['skip-fidelity'] ? new Float32Array() : unit(await features(sessions[0]));
const fidelity: { cosineMean: number; cosineMin: number; looAccuracy: number }[] = [];
for (const s of values['skip-fidelity'] ? [] : sessions) {
  const u = unit(await features(s));
  const cos = labels.map((_, i) => {
    let d = 0;
    for (let k = 0; k < 1280; k++) d += u[i * 1280 + k] * reference[i * 1280 + k];
    return d;
  });
  fidelity.push({ cosineMean: cos.reduce((a, b) => a + b, 0) / cos.length, cosineMin: Math.min(...cos), looAccuracy: leaveOneOut(u) });
}
const fidelitySeconds = (performance.now() - t) / 1000;

console.error(`bench:int8: raw throughput, ${rounds} rounds × ${variants.length} models × ${seconds} s, batch ${batchSize}, ${threads} thread(s)…`);
const speedStart = load();
const batch = new ort.Tensor('float32', sample.subarray(0, batchSize * PER_IMAGE), [batchSize, 224, 224, 3]);
const wall = variants.map(() => [] as number[]);
const perCpu = variants.map(() => [] as number[]);
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < sessions.length; i++) {
    await sessions[i].run({ input: batch });
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let images = 0;
    while (performance.now() - t0 < seconds * 1000) {
      await sessions[i].run({ input: batch });
      images += batchSize;
    }
    const cpu = process.cpuUsage(c0);
    wall[i].push(images / ((performance.now() - t0) / 1000));
    perCpu[i].push(images / ((cpu.user + cpu.system) / 1e6));
  }
}
for (const s of sessions) await s.release();

/** Kernel ms per batch by conv output size (H×W×C, whatever the layout), from onnxruntime's profiler. */
async function profile(bytes: Uint8Array): Promise<{ totalMs: number; byOutput: Record<string, number> }> {
  const dir = mkdtempSync(join(tmpdir(), 'fruits-int8-profile-'));
  try {
    const session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      enableProfiling: true,
      profileFilePrefix: join(dir, 'p'),
      logSeverityLevel: 3,
    });
    const runs = 4;
    await session.run({ input: batch });
    for (let i = 0; i < runs; i++) await session.run({ input: batch });
    session.endProfiling();
    await session.release();
    const events = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8')) as {
      cat: string;
      name: string;
      dur: number;
      args: { op_name?: string; output_type_shape?: Record<string, number[]>[] };
    }[];
    const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
    // The warm-up run is in the file too: the sums are divided by all runs + 1.
    const byOutput: Record<string, number> = {};
    let total = 0;
    for (const e of kernels) {
      total += e.dur;
      if (!/Conv/.test(e.args.op_name ?? '')) continue;
      const [type, dims] = Object.entries(e.args.output_type_shape?.[0] ?? {})[0] ?? ['', []];
      const [, a, b, c] = dims;
      const key = type === 'float' ? `${b}x${c}x${a}` : `${a}x${b}x${c}`;
      byOutput[key] = (byOutput[key] ?? 0) + e.dur / 1000 / (runs + 1);
    }
    return { totalMs: total / 1000 / (runs + 1), byOutput };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
let profiles: Record<string, Awaited<ReturnType<typeof profile>>> | undefined;
if (values.profile) {
  profiles = {};
  for (const v of variants.filter((x) => ['fp32', 'int8-faithful', 'int8-qdq-u8-all'].includes(x.name))) profiles[v.name] = await profile(v.bytes);
}
const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rows = variants.map((v, i) => {
  const wallRatios = wall[i].map((x, r) => x / wall[0][r]);
  const cpuRatios = perCpu[i].map((x, r) => x / perCpu[0][r]);
  return {
    name: v.name,
    description: v.description,
    bytes: v.bytes.length,
    qlinearConv: (fusedOps[i].QLinearConv ?? 0) + (fusedOps[i].NhwcQLinearConv ?? 0),
    floatConv: fusedOps[i].Conv ?? 0,
    ...(fidelity[i] ?? { cosineMean: NaN, cosineMin: NaN, looAccuracy: NaN }),
    imagesPerSecond: median(wall[i]),
    imagesPerSecondRounds: wall[i],
    imagesPerCpuSecondRounds: perCpu[i],
    ratioWall: median(wallRatios),
    ratioWallRounds: wallRatios,
    imagesPerCpuSecond: median(perCpu[i]),
    ratioCpu: median(cpuRatios),
    ratioCpuRounds: cpuRatios,
  };
});
const report = {
  started,
  finished: { at: new Date().toISOString(), loadavg: load() },
  loadavgAtSpeedStart: speedStart,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  node: process.version,
  onnxruntime: ort.env.versions?.node ?? 'unknown',
  weights: source,
  setting: { batchSize, threads, rounds, seconds, calibration: calibrationCount, percentile },
  calibrationFiles: calibrationFiles.map((f) => join('fruits-360-test', f)),
  calibrationSeconds,
  fidelitySeconds,
  sampleImages: sampleFiles.length,
  rows,
  profiles,
};
const outDir = resolve(values.out ?? 'bench-results');
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `int8-${started.at.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

const f = (x: number, d = 3) => x.toFixed(d);
console.log(
  `load average ${started.loadavg.join(' ')} at start, ${speedStart.join(' ')} before the speed rounds, ${report.finished.loadavg.join(' ')} at the end (${report.cores} cores)`,
);
console.log(
  '| model | QLinearConv / float Conv after optimisation | cosine to fp32 mean / min | LOO 1-NN | images/s (wall) | ÷ fp32 wall | images per CPU-s | ÷ fp32 per CPU-s |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.qlinearConv} / ${r.floatConv} | ${f(r.cosineMean, 4)} / ${f(r.cosineMin, 4)} | ${f(r.looAccuracy * 100, 1)} % | ${f(r.imagesPerSecond, 1)} | ${f(r.ratioWall, 2)} | ${f(r.imagesPerCpuSecond, 1)} | ${f(r.ratioCpu, 2)} |`,
  );
}
if (profiles) {
  const p = profiles;
  const keys = Object.keys(p.fp32.byOutput).sort((a, b) => p.fp32.byOutput[b] - p.fp32.byOutput[a]);
  const names = Object.keys(p);
  console.log(`\nkernel ms per batch of ${batchSize} (onnxruntime profiler), convs summed by output H×W×C`);
  console.log(`| output | ${names.join(' | ')} |`);
  console.log(`| --- | ${names.map(() => '---').join(' | ')} |`);
  console.log(`| all kernels | ${names.map((n) => f(p[n].totalMs, 0)).join(' | ')} |`);
  for (const k of keys) console.log(`| ${k} | ${names.map((n) => f(p[n].byOutput[k] ?? 0, 1)).join(' | ')} |`);
}
console.log(`(${file})`);
