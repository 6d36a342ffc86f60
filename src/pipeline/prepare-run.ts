import { basename, resolve } from 'node:path';
import { layout } from '../dataset/layout.js';
import type { Manifest } from '../dataset/manifest.js';
import { parquetRowCount } from '../dataset/parquet.js';
import type { PartProblem } from '../dataset/part-record.js';
import type { Storage } from '../storage/storage.js';
import { OutputConflictError } from './errors.js';
import type { FeaturizeResult } from '../dataset/featurize-marker.js';
import type { Plan } from '../dataset/plan.js';
import { planDigest, planShards, type PlanOptions } from './plan.js';
import { fingerprint, newRunId, type RunOptions, type RunSpec } from '../dataset/run-spec.js';
import { verifyRun, type Verification } from './verify-run.js';
import { readManifest, readPlan, writeMarker, writePlan } from '../dataset/run-files.js';
import { RunFileError } from '../dataset/errors.js';

export interface PrepareOptions {
  input: Storage;
  output: Storage;
  options: RunOptions;
  model: { path: string; sha256: string };
  resume: boolean;
  overwrite: boolean;
  runId?: string;
  /** Listing and indexing progress of the input, while a new plan is made. */
  onPlanProgress?: PlanOptions['onProgress'];
}

export type Prepared =
  /** `repaired`: a finished run that failed verification was reopened; these parts are redone. */
  | { state: 'ready'; plan: Plan; resumed: boolean; skippedShards?: number; repaired?: PartProblem[] }
  | { state: 'complete'; manifest: Manifest; verification: Verification };

/** Files and folders a run owns at the top of its output; --overwrite removes these and nothing else. */
/**
 * Everything fruits writes in a run's folder, from layout.ts (not a second list: a new kind of file there, such as
 * the classifier serve caches, made --overwrite refuse the run as "not a fruits run" when it was listed by hand).
 * Scratch folders under _tmp/ go with it.
 */
const RUN_ENTRIES = [...Object.values(layout.folders).filter((f) => !f.startsWith(layout.tmp)), layout.tmp, layout.manifest, layout.success];

/**
 * The checks of prepareRun that need no model: an output that holds a finished or unfinished run without --resume
 * or --overwrite, or files that are not a run. Run before the model is looked up, so the message is about the
 * output, not "no model found". (With --resume the fingerprint, which includes the model, decides later.)
 */
export async function checkOutput(output: Storage, options: { resume: boolean; overwrite: boolean }): Promise<void> {
  if (options.resume) return;
  if (options.overwrite) return refuseForeignFiles(output);
  if (await output.exists(layout.success)) throw finishedRunConflict(output, await readOrConflict(output, readManifest, 'a finished run (_SUCCESS)'));
  if (await output.exists(layout.plan)) throw unfinishedRunConflict(output, await readOrConflict(output, readPlan, 'an unfinished run'));
  await refuseForeignFiles(output);
}

/**
 * A run file of the run already in the output; one that does not read back still means the folder holds a run
 * (fruits wrote _SUCCESS or _tmp/plan.json), so it is the same conflict, with the reason, not a failure.
 */
async function readOrConflict<T>(output: Storage, read: (s: Storage) => Promise<T>, what: string): Promise<T> {
  try {
    return await read(output);
  } catch (error) {
    if (!(error instanceof RunFileError)) throw error;
    throw new OutputConflictError(`${output.uri} holds ${what} whose ${error.message}. Use --overwrite to replace it, or choose another output folder.`, {
      cause: error,
    });
  }
}

/**
 * What differs between a run's recorded spec and this call, option by option ("--shard-size: the run used 512,
 * this call 256"), so a refused --resume says which argument to change. Batch size is not decisive (fingerprint).
 */
export function differences(spec: Pick<Plan['spec'], 'input' | 'options' | 'model'>, input: string, options: PrepareOptions): string[] {
  const found: string[] = [];
  if (spec.input !== input) found.push(`input: the run read ${spec.input}, this call ${input}`);
  const flag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const ran = spec.options as unknown as Record<string, unknown>;
  const now = options.options as unknown as Record<string, unknown>;
  for (const key of [...new Set([...Object.keys(ran), ...Object.keys(now)])].sort()) {
    if (key === 'batchSize') continue;
    const [a, b] = [JSON.stringify(ran[key]), JSON.stringify(now[key])];
    if (a !== b) found.push(`${key === 'pca' ? '--pca-k/--pca-variance' : flag(key)}: the run used ${a ?? 'none'}, this call ${b ?? 'none'}`);
  }
  if (spec.model.sha256 !== options.model.sha256) {
    found.push(
      `model: the run used ${spec.model.file} (sha256 ${spec.model.sha256.slice(0, 12)}…), this call ${options.model.path} (sha256 ${options.model.sha256.slice(0, 12)}…)`,
    );
  }
  return found.length > 0 ? found : ['its fingerprint differs'];
}

function finishedRunConflict(output: Storage, manifest: Manifest, differing?: string[]): OutputConflictError {
  return new OutputConflictError(
    `${output.uri} already holds a finished run (${manifest.runId}, input ${manifest.input})` +
      (differing ? ` made with other arguments (${differing.join('; ')})` : '') +
      `. ` +
      `Use --overwrite to replace it, or choose another output folder.`,
  );
}

function unfinishedRunConflict(output: Storage, plan: Plan): OutputConflictError {
  return new OutputConflictError(
    `${output.uri} holds an unfinished run (${plan.spec.runId}). Use --resume to finish it (only missing shards are redone), ` +
      `or --overwrite to start over.`,
  );
}

/**
 * Decides what to do with the output folder (new run, resume, refuse) and writes the plan. An output that
 * holds a different run, an unfinished run without --resume, or files that are not a run, is never touched
 * silently.
 */
export async function prepareRun(options: PrepareOptions): Promise<Prepared> {
  const { input, output, resume, overwrite } = options;
  const print = fingerprint(input.uri, options.options, options.model.sha256);
  const complete = await output.exists(layout.success);
  const planned = await output.exists(layout.plan);

  if (overwrite) {
    await clearRun(output);
  } else if (complete) {
    const manifest = resume ? await readManifest(output) : await readOrConflict(output, readManifest, 'a finished run (_SUCCESS)');
    if (resume && manifest.fingerprint === print) {
      // "Nothing to do" only for a run whose parts are all there and whole; else the damaged shards are redone.
      const verification = await verifyRun(output, manifest);
      if (verification.problems.length === 0) return { state: 'complete', manifest, verification };
      return { state: 'ready', plan: await reopenRun(input, output, manifest, verification), resumed: true, repaired: verification.problems };
    }
    throw finishedRunConflict(output, manifest, resume ? differences(manifest, input.uri, options) : undefined);
  } else if (planned) {
    const plan = resume ? await readPlan(output) : await readOrConflict(output, readPlan, 'an unfinished run');
    if (!resume) throw unfinishedRunConflict(output, plan);
    if (plan.spec.fingerprint !== print) {
      throw new OutputConflictError(
        `${output.uri} holds an unfinished run (${plan.spec.runId}) that --resume cannot continue: ` +
          `${differences(plan.spec, input.uri, options).join('; ')}. ` +
          `Resume it with the same arguments, or use --overwrite to start over.`,
      );
    }
    return { state: 'ready', plan, resumed: true };
  } else {
    await refuseForeignFiles(output);
  }

  const spec: RunSpec = {
    runId: options.runId ?? newRunId(),
    input: input.uri,
    output: output.uri,
    createdAt: new Date().toISOString(),
    options: options.options,
    model: { file: basename(options.model.path), sha256: options.model.sha256, path: resolve(options.model.path) },
    fingerprint: print,
  };
  const plan = await planShards(input, spec, { onProgress: options.onPlanProgress });
  await writePlan(output, plan);
  return { state: 'ready', plan, resumed: false };
}

/**
 * Makes a finished run whose parts fail verification resumable again, so both engines finish it like any
 * interrupted run (run-state.ts decides what is redone):
 * - the plan, which the commit removed with _tmp/, is made again from the input with the run's recorded spec and
 *   options (its batch size too: the same batches give the same floats) and must match the digest the manifest
 *   recorded, else the input changed and redoing a shard would mix two inputs: refused;
 * - shards whose features or errors part is damaged lose their parts, including the results part projected from
 *   them; the others get their featurize marker back from the manifest, so they are not redone;
 * - the PCA model is kept. Why: it was fitted on every shard's features, and a redone shard's features are the
 *   same floats (same images, model and batches: test/e2e/verify.test.ts finds every feature and PCA value of
 *   the repaired run equal to the first run's; the part's bytes can differ, in the order parquet-wasm writes the
 *   footer's key-value metadata, so its new sha256 is recorded), so refitting would give the same model and only
 *   rewrite every results part. A damaged pca/model.json is deleted: refitting needs every shard's moments, which
 *   the commit removed, so then every shard is featurized again;
 * - _SUCCESS goes last: until then a crash leaves a finished run that still fails verification, and --resume
 *   starts over from here.
 */
async function reopenRun(input: Storage, output: Storage, manifest: Manifest, verification: Verification): Promise<Plan> {
  const spec: RunSpec = {
    runId: manifest.runId,
    input: input.uri,
    output: output.uri,
    createdAt: manifest.createdAt,
    options: manifest.options,
    model: { file: manifest.model.file, sha256: manifest.model.sha256, ...(manifest.model.path ? { path: manifest.model.path } : {}) },
    fingerprint: manifest.fingerprint,
  };
  const plan = await planShards(input, spec);
  const same = manifest.planSha256
    ? planDigest(plan) === manifest.planSha256
    : plan.images === manifest.counts.listed && plan.shards.length === manifest.counts.shards;
  if (!same) {
    throw new OutputConflictError(
      `${output.uri} holds a finished run (${manifest.runId}) with ${verification.problems.length} missing or damaged part(s) ` +
        `(${verification.problems
          .slice(0, 3)
          .map((p) => `${p.key} ${p.problem}`)
          .join('; ')}), and --resume cannot redo them: ` +
        `the input ${input.uri} is not what the run read (${plan.images} images in ${plan.shards.length} shards now, ` +
        `${manifest.counts.listed} in ${manifest.counts.shards} then${manifest.planSha256 ? ', or other files, labels or sizes' : ''}). ` +
        `Restore the input, or use --overwrite to make the run again.`,
    );
  }
  const redo = new Set(verification.refeaturize);
  if (verification.pcaDamaged) await output.delete(layout.pcaModel);
  const records = new Map((manifest.parts ?? []).map((p) => [p.shard, p]));
  for (const shard of plan.shards) {
    const i = shard.index;
    if (redo.has(i)) {
      await Promise.all([output.delete(layout.results(i)), output.delete(layout.features(i)), output.delete(layout.errors(i))]);
      continue;
    }
    if (verification.reproject.includes(i)) await output.delete(layout.results(i));
    const record = records.get(i);
    const marker: FeaturizeResult = record
      ? {
          shard: i,
          images: record.featurized.images,
          errors: record.featurized.errors,
          timings: record.featurized.timings,
          parts: { features: record.features, ...(record.errors ? { errors: record.errors } : {}) },
        }
      : await legacyMarker(output, i);
    await writeMarker(output, marker);
  }
  await writePlan(output, plan);
  await output.delete(layout.success);
  return plan;
}

/** A marker for a shard of a run made before parts were recorded: rows from the footers, no timings. */
async function legacyMarker(output: Storage, shard: number): Promise<FeaturizeResult> {
  const rows = async (key: string) => ((await output.exists(key)) ? parquetRowCount(await output.read(key)) : 0);
  return {
    shard,
    images: await rows(layout.features(shard)),
    errors: await rows(layout.errors(shard)),
    timings: { decode: 0, inputWait: 0, inference: 0, moments: 0, write: 0 },
  };
}

async function clearRun(output: Storage): Promise<void> {
  await refuseForeignFiles(output);
  // _SUCCESS goes first: from then on the folder no longer claims to hold a finished run.
  await output.delete(layout.success);
  for (const entry of RUN_ENTRIES) {
    if (entry.endsWith('/')) await output.deletePrefix(entry);
    else await output.delete(entry);
  }
}

async function refuseForeignFiles(output: Storage): Promise<void> {
  const foreign: string[] = [];
  for await (const entry of output.list()) {
    if (!RUN_ENTRIES.some((owned) => (owned.endsWith('/') ? entry.key.startsWith(owned) : entry.key === owned))) {
      foreign.push(entry.key);
      if (foreign.length >= 3) break;
    }
  }
  if (foreign.length > 0) {
    throw new OutputConflictError(
      `${output.uri} is not empty and is not a fruits run (it holds ${foreign.join(', ')}…). ` +
        `Choose an empty or new output folder; fruits never deletes files it did not write.`,
    );
  }
}
