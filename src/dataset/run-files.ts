/**
 * Reads and writes a run's JSON files: the plan, the featurize markers and the manifest. Each is checked against
 * its schema when read, so a file that was cut short, hand-edited or written by something else stops with an
 * error that names the file and the field (a `RunFileError`), instead of an `undefined` deep inside a stage.
 * The schemas keep keys they do not know (a file written by a newer fruits reads back whole).
 *
 * @example
 * ```ts
 * import { openStorage, readManifest } from 'fruits';
 * const manifest = await readManifest(openStorage('./out'));
 * console.log(manifest.counts.features, manifest.pca.k);
 * ```
 *
 * @module
 */
import { z } from 'zod';
import { describeIssues } from '../errors/issues.js';
import type { Storage } from '../storage/storage.js';
import { RunFileError } from './errors.js';
import type { FeaturizeResult } from './featurize-marker.js';
import { layout } from './layout.js';
import type { Manifest } from './manifest.js';
import type { Plan } from './plan.js';
import { componentChoiceSchema, pcaModelFromJson, type PcaModel } from '../pca/pca-model.js';

const count = z.number().int().min(0);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits');
const partRecord = z.looseObject({ rows: count, bytes: count, sha256 });
const timings = z.looseObject({ decode: z.number(), inputWait: z.number(), inference: z.number(), moments: z.number(), write: z.number() });
const labelRule = z.union([z.literal(['parent', 'first', 'none']), z.templateLiteral(['regex:', z.string()])]);
const inputFormat = z.enum(['auto', 'files', 'tar', 'parquet']);

const runOptions = z.looseObject({
  shardSize: z.number().int().min(1),
  batchSize: z.number().int().min(1),
  pca: componentChoiceSchema,
  glob: z.string().optional(),
  labelFrom: labelRule,
  maxPixels: z.number().int().min(1),
  imageSize: z.number().int().min(1),
  inputFormat: inputFormat.optional(),
});

const runSpec = z.looseObject({
  runId: z.string().min(1),
  input: z.string().min(1),
  output: z.string().min(1),
  createdAt: z.string(),
  options: runOptions,
  model: z.looseObject({ file: z.string().min(1), sha256, path: z.string().optional() }),
  fingerprint: z.string().min(1),
});

const shardSource = z.discriminatedUnion('format', [
  z.looseObject({
    format: z.literal('tar'),
    file: z.string().min(1),
    offsets: z.array(count),
    problems: z.record(z.string(), z.string()).optional(),
  }),
  z.looseObject({
    format: z.literal('parquet'),
    file: z.string().min(1),
    fileSize: count,
    rowStart: count,
    rowGroups: z.array(count),
    layout: z.looseObject({ bytes: z.string(), path: z.string().optional(), label: z.string().optional(), labelNames: z.array(z.string()).optional() }),
  }),
]);

const shard = z
  .looseObject({ index: count, keys: z.array(z.string()), labels: z.array(z.string()), sizes: z.array(count), source: shardSource.optional() })
  .refine((s) => s.labels.length === s.keys.length && s.sizes.length === s.keys.length, 'keys, labels and sizes must be as long');

/** `_tmp/plan.json`. */
export const planSchema: z.ZodType<Plan> = z
  .looseObject({
    spec: runSpec,
    images: count,
    classes: z.array(z.string()),
    shards: z.array(shard),
    listMs: z.number(),
    format: z.enum(['files', 'tar', 'parquet']).optional(),
  })
  .superRefine((plan, ctx) => {
    // Part names come from the index: a plan whose shard i is not index i would write one shard's part twice.
    const wrong = plan.shards.findIndex((s, i) => s.index !== i);
    if (wrong >= 0) ctx.addIssue({ code: 'custom', path: ['shards', wrong, 'index'], message: `must be ${wrong}` });
  });

/** `_tmp/featurized/part-NNNNN.json`. */
export const featurizeMarkerSchema: z.ZodType<FeaturizeResult> = z.looseObject({
  shard: count,
  images: count,
  errors: count,
  timings,
  parts: z.looseObject({ features: partRecord, errors: partRecord.optional(), moments: z.looseObject({ bytes: count }).optional() }).optional(),
});

/** `manifest.json`. */
export const manifestSchema: z.ZodType<Manifest> = z.looseObject({
  format: z.literal('fruits-run/1'),
  runId: z.string().min(1),
  fingerprint: z.string(),
  input: z.string(),
  output: z.string(),
  engine: z.string(),
  createdAt: z.string(),
  completedAt: z.string(),
  options: runOptions,
  model: z.looseObject({
    file: z.string(),
    path: z.string().optional(),
    sha256,
    inputName: z.string(),
    outputName: z.string(),
    layout: z.string(),
    preprocessing: z.string(),
    inputSize: z.number().int().min(1),
    featureDim: z.number().int().min(1),
  }),
  preprocessing: z.looseObject({ resize: z.string(), normalisation: z.string(), orientation: z.string(), colour: z.string() }),
  counts: z.looseObject({ listed: count, features: count, errors: count, classes: count, shards: count }),
  classes: z.array(z.string()),
  errors: z.looseObject({
    byStage: z.record(z.string(), count),
    examples: z.array(z.looseObject({ path: z.string(), stage: z.string(), message: z.string() })),
  }),
  pca: z.looseObject({ k: count, choice: componentChoiceSchema, explainedVariance: z.number(), top10Ratio: z.array(z.number()) }),
  timings: z.looseObject({
    totalMs: z.number(),
    listMs: z.number(),
    featurizeMs: z.number(),
    pcaMergeMs: z.number(),
    pcaFitMs: z.number(),
    projectMs: z.number(),
    commitMs: z.number(),
    workerMs: timings,
  }),
  throughput: z.looseObject({ imagesPerSecond: z.number() }),
  software: z.record(z.string(), z.string()),
  parts: z
    .array(
      z.looseObject({
        shard: count,
        images: count,
        featurized: z.looseObject({ images: count, errors: count, timings }),
        features: partRecord,
        results: partRecord,
        errors: partRecord.optional(),
      }),
    )
    .optional(),
  planSha256: sha256.optional(),
  pcaModelFile: z.looseObject({ bytes: count, sha256 }).optional(),
});

/**
 * Parses the text of run file `key` against `schema`. A RunFileError names the file and up to five fields that
 * do not match; its cause is the JSON syntax error or the zod error.
 */
export function parseRunFile<T>(schema: z.ZodType<T>, text: string, key: string, where = key): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RunFileError(`${where} is not JSON (${(error as Error).message}): the file was cut short or is not fruits'`, { cause: error, key });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const fields = describeIssues(parsed.error, '(top)', {
      limit: 5,
      message: (i) => (/received undefined$/.test(i.message) ? 'missing' : i.message),
    });
    throw new RunFileError(`${where} is not a fruits ${describe(key)}: ${fields}`, { cause: parsed.error, key });
  }
  return parsed.data;
}

function describe(key: string): string {
  if (key === layout.plan) return 'plan';
  if (key === layout.manifest) return 'manifest';
  return 'run file';
}

async function readJson<T>(storage: Storage, schema: z.ZodType<T>, key: string): Promise<T> {
  return parseRunFile(schema, (await storage.read(key)).toString(), key, `${storage.uri.replace(/\/$/, '')}/${key}`);
}

/** The run's plan (`_tmp/plan.json`), present while a run is unfinished. */
export function readPlan(storage: Storage): Promise<Plan> {
  return readJson(storage, planSchema, layout.plan);
}

export async function writePlan(storage: Storage, plan: Plan): Promise<void> {
  await storage.write(layout.plan, JSON.stringify(plan));
}

/** The manifest of a finished run (`manifest.json`). */
export function readManifest(storage: Storage): Promise<Manifest> {
  return readJson(storage, manifestSchema, layout.manifest);
}

/** Pretty-printed with a final newline: the one run file people open in an editor. */
export async function writeManifest(storage: Storage, manifest: Manifest): Promise<void> {
  await storage.write(layout.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Shard `shard`'s featurize marker; a marker of another shard is refused (a file copied to the wrong name). */
export async function readMarker(storage: Storage, shard: number): Promise<FeaturizeResult> {
  const key = layout.featurized(shard);
  const marker = await readJson(storage, featurizeMarkerSchema, key);
  if (marker.shard !== shard) throw new RunFileError(`${key} is the marker of shard ${marker.shard}, not of shard ${shard}`, { key });
  return marker;
}

/** Written last by featurize: from then on the shard counts as done. */
export async function writeMarker(storage: Storage, marker: FeaturizeResult): Promise<void> {
  await storage.write(layout.featurized(marker.shard), JSON.stringify(marker));
}

/** The run's PCA model (`pca/model.json`), checked by its own schema (a PcaFormatError when it does not read back). */
export async function readPcaModel(storage: Storage): Promise<PcaModel> {
  return pcaModelFromJson((await storage.read(layout.pcaModel)).toString());
}
