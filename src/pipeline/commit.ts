import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { layout } from '../dataset/layout.js';
import type { Manifest } from '../dataset/manifest.js';
import { decodeParquet, readStringColumn } from '../dataset/parquet.js';
import { RESIZE_DESCRIPTION } from '../images/decode.js';
import type { ModelInfo } from '../model/feature-extractor.js';
import type { PcaModel } from '../pca/pca-model.js';
import type { Storage } from '../storage/storage.js';
import type { FeaturizeResult, ShardTimings } from './featurize.js';
import type { Plan } from './plan.js';

export interface CommitInput {
  plan: Plan;
  model: ModelInfo;
  pca: PcaModel;
  engine: string;
  startedAt: number;
  timings: { featurizeMs: number; pcaMergeMs: number; pcaFitMs: number; projectMs: number };
}

/** Reads the per-shard results, writes manifest.json then _SUCCESS, and clears the run's scratch space. */
export async function commitRun(output: Storage, input: CommitInput): Promise<Manifest> {
  const t0 = performance.now();
  const { plan, model, pca } = input;
  const results: FeaturizeResult[] = await Promise.all(
    plan.shards.map(async (s) => JSON.parse((await output.read(layout.featurized(s.index))).toString()) as FeaturizeResult),
  );
  const workerMs: ShardTimings = { decode: 0, inputWait: 0, inference: 0, moments: 0, write: 0 };
  for (const r of results) for (const k of Object.keys(workerMs) as (keyof ShardTimings)[]) workerMs[k] += r.timings[k];
  const features = results.reduce((n, r) => n + r.images, 0);
  const errorCount = results.reduce((n, r) => n + r.errors, 0);
  const byStage: Record<string, number> = {};
  const examples: Manifest['errors']['examples'] = [];
  for (const r of results.filter((x) => x.errors > 0)) {
    const table = decodeParquet(await output.read(layout.errors(r.shard)));
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
  };
  await output.write(layout.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  await output.write(layout.success, '');
  await output.deletePrefix(layout.tmp);
  return manifest;
}
