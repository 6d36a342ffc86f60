import { layout } from '../dataset/layout.js';
import type { Storage } from '../storage/storage.js';
import type { Plan } from './plan.js';

/** Which shards still need each stage: what --resume skips is decided here, for every engine. */
export async function pendingFeaturize(output: Storage, plan: Plan): Promise<number[]> {
  const done = await Promise.all(plan.shards.map((s) => output.exists(layout.featurized(s.index))));
  return plan.shards.filter((_, i) => !done[i]).map((s) => s.index);
}

export async function pendingProject(output: Storage, plan: Plan): Promise<number[]> {
  const done = await Promise.all(plan.shards.map((s) => output.exists(layout.results(s.index))));
  return plan.shards.filter((_, i) => !done[i]).map((s) => s.index);
}
