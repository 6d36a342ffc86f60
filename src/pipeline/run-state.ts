import { layout } from '../dataset/layout.js';
import { checkPart, isProblem, type PartProblem } from '../dataset/part-record.js';
import type { PcaModel } from '../pca/pca-model.js';
import type { Storage } from '../storage/storage.js';
import type { FeaturizeResult } from '../dataset/featurize-marker.js';
import { mapLimited, READ_CONCURRENCY } from './map-limited.js';
import type { Plan } from '../dataset/plan.js';
import { RunFileError } from '../dataset/errors.js';
import { readMarker, readPcaModel } from '../dataset/run-files.js';

/** Shards still to do for a stage, and the parts found damaged on the way (those shards are among them). */
export interface Pending {
  shards: number[];
  problems: PartProblem[];
}

/**
 * Where a run stands for every engine (local threads, BullMQ workers): which shards featurize must (re)do and
 * whether the PCA model on storage is kept. This is the one place of the rule "a PCA model on storage is kept,
 * else it is fitted from every shard's moments"; engines do not test for pca/model.json themselves.
 */
export interface ResumePoint {
  featurize: Pending;
  /** The model to keep; undefined: fit one (and every results part is then stale). */
  pca: PcaModel | undefined;
}

export async function resumePoint(output: Storage, plan: Plan): Promise<ResumePoint> {
  const pca = await keptPcaModel(output);
  // Moments only matter when the PCA is still to fit: they are read by the reduce, never afterwards.
  const featurize = await pendingFeaturize(output, plan, { needMoments: !pca });
  return { featurize, pca };
}

/**
 * The PCA model a run keeps. A model on storage came from these shards' moments (a resumed run, a re-run reduce,
 * a finished run with a shard redone), and the results parts written with it stay consistent with the ones
 * written now; one that does not parse is fitted again, since no projection could use it.
 */
export async function keptPcaModel(output: Storage): Promise<PcaModel | undefined> {
  if (!(await output.exists(layout.pcaModel))) return undefined;
  try {
    return await readPcaModel(output);
  } catch {
    return undefined;
  }
}

/** The other half of the rule: a PCA about to be fitted anew makes every results part stale (another basis). */
export async function discardResults(output: Storage, plan: Plan): Promise<void> {
  await Promise.all(plan.shards.map((s) => output.delete(layout.results(s.index))));
}

/**
 * The shards to featurize: those without a marker, and those whose marker's parts no longer read back as they
 * were written (a features or errors part missing, cut short, or with other rows or bytes; a moments file of
 * another size when the PCA is still to fit). A marker is never trusted on its own: a damaged shard's marker and
 * results part (projected from the old features) are deleted here, so every engine and every worker redoes it.
 */
export async function pendingFeaturize(output: Storage, plan: Plan, options: { needMoments: boolean }): Promise<Pending> {
  const moments = options.needMoments ? await sizes(output, layout.folders.moments) : undefined;
  const problems: PartProblem[] = [];
  const pending = await mapLimited(plan.shards, READ_CONCURRENCY, async ({ index }) => {
    const marker = await markerOrProblem(output, index);
    if (!marker) return true;
    if ('problem' in marker) {
      problems.push(marker);
    } else {
      const found = await shardProblems(output, marker, moments);
      if (found.length === 0) return false;
      problems.push(...found);
    }
    await forget(output, index);
    return true;
  });
  return { shards: plan.shards.filter((_, i) => pending[i]).map((s) => s.index), problems };
}

/**
 * Shards without a marker, by existence only: a cheap check for a stage that must not start before featurize is
 * done (the reduce job); what is in the parts was checked when the run was scheduled and is checked at commit.
 */
export async function unmarkedShards(output: Storage, plan: Plan): Promise<number[]> {
  const done = await Promise.all(plan.shards.map((s) => output.exists(layout.featurized(s.index))));
  return plan.shards.filter((_, i) => !done[i]).map((s) => s.index);
}

/** Shards without a results part, by existence only (progress display, the commit job's precondition). */
export async function unprojectedShards(output: Storage, plan: Plan): Promise<number[]> {
  const done = await Promise.all(plan.shards.map((s) => output.exists(layout.results(s.index))));
  return plan.shards.filter((_, i) => !done[i]).map((s) => s.index);
}

/**
 * The shards to project: those without a results part, and those whose part does not read back or holds another
 * number of rows than the shard's features (deleted here, so no engine skips it).
 */
export async function pendingProject(output: Storage, plan: Plan): Promise<Pending> {
  const listed = await sizes(output, layout.folders.results);
  const problems: PartProblem[] = [];
  const pending = await mapLimited(plan.shards, READ_CONCURRENCY, async ({ index }) => {
    const key = layout.results(index);
    if (!listed.has(key)) return true;
    const marker = await markerOrProblem(output, index);
    const rows = marker && !('problem' in marker) ? marker.images : undefined;
    const checked = await checkPart(output, key, { rows });
    if (!isProblem(checked)) return false;
    problems.push(checked);
    await output.delete(key);
    return true;
  });
  return { shards: plan.shards.filter((_, i) => pending[i]).map((s) => s.index), problems };
}

/** What is wrong with a featurized shard's files, compared with its marker (empty: sound). */
async function shardProblems(output: Storage, marker: FeaturizeResult, moments: Map<string, number> | undefined): Promise<PartProblem[]> {
  const problems: PartProblem[] = [];
  const features = await checkPart(output, layout.features(marker.shard), marker.parts?.features ?? { rows: marker.images });
  if (isProblem(features)) problems.push(features);
  if (marker.errors > 0) {
    const errors = await checkPart(output, layout.errors(marker.shard), marker.parts?.errors ?? { rows: marker.errors });
    if (isProblem(errors)) problems.push(errors);
  }
  if (moments) {
    const key = layout.moments(marker.shard);
    const size = moments.get(key);
    const expected = marker.parts?.moments?.bytes;
    if (size === undefined) problems.push({ key, problem: 'missing' });
    else if (expected !== undefined && size !== expected) problems.push({ key, problem: `${size} bytes, ${expected} were written` });
  }
  return problems;
}

async function markerOrProblem(output: Storage, shard: number): Promise<FeaturizeResult | PartProblem | undefined> {
  try {
    return await readMarker(output, shard);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // A marker that does not read back is a damaged shard: redone, like a damaged part.
    if (error instanceof RunFileError) return { key: layout.featurized(shard), problem: `not a readable marker (${error.message})` };
    throw error;
  }
}

/** The shard is to be featurized again: marker first (from then on it is "to do" everywhere), then its stale results part. */
async function forget(output: Storage, shard: number): Promise<void> {
  await output.delete(layout.featurized(shard));
  await output.delete(layout.results(shard));
}

async function sizes(output: Storage, prefix: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for await (const entry of output.list(prefix)) found.set(entry.key, entry.size);
  return found;
}
