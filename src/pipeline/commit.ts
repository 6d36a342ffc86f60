import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { layout } from '../dataset/layout.js';
import type { Manifest, ShardRecord } from '../dataset/manifest.js';
import { readStringColumn } from '../dataset/parquet.js';
import { checkPart, DamagedPartError, isProblem, location, readPart, sha256, type PartProblem, type PartRecord } from '../dataset/part-record.js';
import { RESIZE_DESCRIPTION } from '../images/decode.js';
import type { ModelInfo } from '../model/feature-extractor.js';
import type { PcaModel } from '../pca/pca-model.js';
import type { Storage } from '../storage/storage.js';
import type { FeaturizeResult, ShardTimings } from '../dataset/featurize-marker.js';
import type { Plan } from '../dataset/plan.js';
import { mapLimited, READ_CONCURRENCY } from './map-limited.js';
import { planDigest } from './plan.js';
import { readMarker, writeManifest } from '../dataset/run-files.js';

export interface CommitInput {
  plan: Plan;
  model: ModelInfo;
  pca: PcaModel;
  engine: string;
  startedAt: number;
  timings: { featurizeMs: number; pcaMergeMs: number; pcaFitMs: number; projectMs: number };
}

/**
 * Reads the per-shard results, checks every part (sizes of the features and errors parts against what featurize
 * wrote, footers, rows and sha256 of the results parts), writes manifest.json with a record of each part, then
 * _SUCCESS, and clears the run's scratch space. A part that does not check out stops the commit with
 * DamagedPartError naming it: _SUCCESS is only written over parts that are all there and whole.
 */
export async function commitRun(output: Storage, input: CommitInput): Promise<Manifest> {
  const t0 = performance.now();
  const { plan, model, pca } = input;
  const results: FeaturizeResult[] = await mapLimited(plan.shards, READ_CONCURRENCY, (s) => readMarker(output, s.index));
  const parts = await recordParts(output, plan, results);
  const pcaFile = await output.read(layout.pcaModel);
  const workerMs: ShardTimings = { decode: 0, inputWait: 0, inference: 0, moments: 0, write: 0 };
  for (const r of results) for (const k of Object.keys(workerMs) as (keyof ShardTimings)[]) workerMs[k] += r.timings[k];
  const features = results.reduce((n, r) => n + r.images, 0);
  const errorCount = results.reduce((n, r) => n + r.errors, 0);
  const byStage: Record<string, number> = {};
  const examples: Manifest['errors']['examples'] = [];
  for (const r of results.filter((x) => x.errors > 0)) {
    const table = await readPart(output, layout.errors(r.shard));
    const paths = readStringColumn(table, 'path');
    const stages = readStringColumn(table, 'stage');
    const messages = readStringColumn(table, 'message');
    stages.forEach((stage, i) => {
      byStage[stage] = (byStage[stage] ?? 0) + 1;
      if (examples.length < 20) examples.push({ path: paths[i], stage, message: messages[i] });
    });
  }
  const totalMs = performance.now() - input.startedAt;
  const manifest: Manifest = {
    format: 'fruits-run/1',
    runId: plan.spec.runId,
    fingerprint: plan.spec.fingerprint,
    input: plan.spec.input,
    output: plan.spec.output,
    engine: input.engine,
    createdAt: plan.spec.createdAt,
    completedAt: new Date().toISOString(),
    options: plan.spec.options,
    model: {
      file: plan.spec.model.file,
      ...(plan.spec.model.path ? { path: plan.spec.model.path } : {}),
      sha256: model.sha256,
      inputName: model.inputName,
      outputName: model.outputName,
      layout: model.layout,
      preprocessing: model.preprocessing,
      inputSize: model.inputSize,
      featureDim: model.featureDim,
    },
    preprocessing: {
      resize: `${model.inputSize}×${model.inputSize} ${RESIZE_DESCRIPTION}`,
      normalisation: model.preprocessing === 'keras' ? 'x / 127.5 - 1 (Keras mobilenet_v2.preprocess_input)' : '(x / 255 - mean) / std (ImageNet)',
      orientation: 'EXIF orientation applied',
      colour: 'sRGB, alpha dropped, greyscale and CMYK converted',
    },
    counts: { listed: plan.images, features, errors: errorCount, classes: plan.classes.length, shards: plan.shards.length },
    classes: plan.classes,
    errors: { byStage, examples },
    pca: {
      k: pca.k,
      choice: pca.choice,
      explainedVariance: pca.explainedVarianceRatio.reduce((s, v) => s + v, 0),
      top10Ratio: Array.from(pca.explainedVarianceRatio.subarray(0, 10)),
    },
    timings: {
      totalMs,
      listMs: plan.listMs,
      ...input.timings,
      commitMs: performance.now() - t0,
      workerMs,
    },
    throughput: { imagesPerSecond: plan.images / (totalMs / 1000) },
    software: {
      node: process.versions.node,
      onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
      sharp: sharp.versions.sharp,
      vips: sharp.versions.vips,
    },
    parts,
    planSha256: planDigest(plan),
    pcaModelFile: { bytes: pcaFile.length, sha256: sha256(pcaFile) },
  };
  await writeManifest(output, manifest);
  await output.write(layout.success, '');
  await output.deletePrefix(layout.tmp);
  return manifest;
}

/**
 * The record of every shard's parts, checked. Features and errors parts carry the record featurize made from the
 * bytes it wrote: their size in a listing is compared (cheap, even on S3). Results parts have no marker: each is
 * read, its footer must give as many rows as the shard's features. Markers made before records were kept: the
 * parts are read and recorded as found.
 */
async function recordParts(output: Storage, plan: Plan, results: FeaturizeResult[]): Promise<ShardRecord[]> {
  const listed = new Map<string, number>();
  for (const prefix of [layout.folders.features, layout.folders.errors]) for await (const entry of output.list(prefix)) listed.set(entry.key, entry.size);
  const problems: PartProblem[] = [];
  const part = async (key: string, recorded: PartRecord | undefined, rows: number): Promise<PartRecord> => {
    if (recorded) {
      const size = listed.get(key);
      if (size === undefined) problems.push({ key, problem: 'missing' });
      else if (size !== recorded.bytes) problems.push({ key, problem: `${size} bytes, ${recorded.bytes} were written` });
      return recorded;
    }
    const checked = await checkPart(output, key, { rows });
    if (isProblem(checked)) {
      problems.push(checked);
      return { rows, bytes: 0, sha256: '' };
    }
    return checked.record;
  };
  const records = await Promise.all(
    plan.shards.map(async (s, i): Promise<ShardRecord> => {
      const r = results[i];
      const features = await part(layout.features(s.index), r.parts?.features, r.images);
      const errors = r.errors > 0 ? await part(layout.errors(s.index), r.parts?.errors, r.errors) : undefined;
      const projected = await part(layout.results(s.index), undefined, r.images);
      return {
        shard: s.index,
        images: s.keys.length,
        featurized: { images: r.images, errors: r.errors, timings: r.timings },
        features,
        results: projected,
        ...(errors ? { errors } : {}),
      };
    }),
  );
  if (problems.length > 0) {
    throw new DamagedPartError(
      `cannot commit run ${plan.spec.runId}: ${problems.length} part(s) do not check out: ` +
        problems
          .slice(0, 5)
          .map((p) => `${location(output, p.key)} ${p.problem}`)
          .join('; ') +
        (problems.length > 5 ? '; …' : '') +
        `. Rerun with --resume: those shards are redone`,
    );
  }
  return records;
}
