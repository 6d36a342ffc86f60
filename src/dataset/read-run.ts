import { layout } from './layout.js';
import type { Manifest } from './manifest.js';
import type { Storage } from '../storage/storage.js';
import type { Plan } from './plan.js';
import { readManifest, readPlan } from './run-files.js';

export type RunStatus =
  { state: 'complete'; manifest: Manifest } | { state: 'incomplete'; plan: Plan; featurized: number; projected: number } | { state: 'absent' };

/** What a run folder holds: a finished run, an unfinished one (and how far it got), or no run at all. */
export async function readRunStatus(output: Storage): Promise<RunStatus> {
  if (await output.exists(layout.success)) {
    return { state: 'complete', manifest: await readManifest(output) };
  }
  if (!(await output.exists(layout.plan))) return { state: 'absent' };
  const plan = await readPlan(output);
  const featurized = await Promise.all(plan.shards.map((s) => output.exists(layout.featurized(s.index))));
  const projected = await Promise.all(plan.shards.map((s) => output.exists(layout.results(s.index))));
  return { state: 'incomplete', plan, featurized: featurized.filter(Boolean).length, projected: projected.filter(Boolean).length };
}
