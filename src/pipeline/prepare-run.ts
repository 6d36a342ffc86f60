import { basename, resolve } from 'node:path';
import { layout } from '../dataset/layout.js';
import type { Manifest } from '../dataset/manifest.js';
import { StorageError, type Storage } from '../storage/storage.js';
import { planShards, type Plan } from './plan.js';
import { fingerprint, newRunId, type RunOptions, type RunSpec } from './run-spec.js';

export interface PrepareOptions {
  input: Storage;
  output: Storage;
  options: RunOptions;
  model: { path: string; sha256: string };
  resume: boolean;
  overwrite: boolean;
  runId?: string;
}

export type Prepared =
  | { state: 'ready'; plan: Plan; resumed: boolean; skippedShards?: number }
  | { state: 'complete'; manifest: Manifest };

/** The output folder already holds something that is not this run; the message says what to do. */
export class OutputConflictError extends StorageError {
  override name = 'OutputConflictError';
}

/** Files and folders a run owns at the top of its output; --overwrite removes these and nothing else. */
const RUN_ENTRIES = ['features/', 'results/', 'errors/', 'pca/', layout.tmp, layout.manifest, layout.success];

/**
 * The checks of prepareRun that need no model: an output that holds a finished or unfinished run without --resume
 * or --overwrite, or files that are not a run. Run before the model is looked up, so the message is about the
 * output, not "no model found". (With --resume the fingerprint, which includes the model, decides later.)
 */
export async function checkOutput(output: Storage, options: { resume: boolean; overwrite: boolean }): Promise<void> {
  if (options.resume) return;
  if (options.overwrite) return refuseForeignFiles(output);
  if (await output.exists(layout.success)) {
    const manifest = JSON.parse((await output.read(layout.manifest)).toString()) as Manifest;
    throw finishedRunConflict(output, manifest);
  }
  if (await output.exists(layout.plan)) throw unfinishedRunConflict(output, JSON.parse((await output.read(layout.plan)).toString()) as Plan);
  await refuseForeignFiles(output);
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
    found.push(`model: the run used ${spec.model.file} (sha256 ${spec.model.sha256.slice(0, 12)}…), this call ${options.model.path} (sha256 ${options.model.sha256.slice(0, 12)}…)`);
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
    const manifest = JSON.parse((await output.read(layout.manifest)).toString()) as Manifest;
    if (resume && manifest.fingerprint === print) return { state: 'complete', manifest };
    throw finishedRunConflict(output, manifest, resume ? differences(manifest, input.uri, options) : undefined);
  } else if (planned) {
    const plan = JSON.parse((await output.read(layout.plan)).toString()) as Plan;
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
  const plan = await planShards(input, spec);
  await output.write(layout.plan, JSON.stringify(plan));
  return { state: 'ready', plan, resumed: false };
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
