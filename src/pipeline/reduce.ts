import { layout } from '../dataset/layout.js';
import { TooFewImagesError } from './errors.js';
import { Moments } from '../pca/moments.js';
import { MomentsFold, ReduceTree } from '../pca/moments-tree.js';
import { fitPca, pcaModelToJson, type PcaModel } from '../pca/pca-model.js';
import type { Storage } from '../storage/storage.js';
import type { RunSpec } from '../dataset/run-spec.js';

export interface ReduceResult {
  model: PcaModel;
  /** Reading and merging the per-shard moments (the part not already done by a MomentsMerge), and the eigen-decomposition, in ms. */
  mergeMs: number;
  fitMs: number;
}

/**
 * Merges moments files in the canonical order (MomentsFold: the aligned binary tree over them, in the order
 * given), taking each one as soon as it is ready and its predecessors are merged: an engine that finishes
 * shards one by one (the local one) has little left to read when the last one is done. The order is fixed
 * whatever finishes first, so the PCA is the same bit for bit as a merge after the fact, and as the BullMQ
 * engine's tree reduce of any power-of-two fan-in (whose jobs each run one of these over their inputs).
 */
export class MomentsMerge {
  private readonly fold: MomentsFold;
  private readonly ready = new Set<number>();
  private next = 0;
  private pending: Promise<void> = Promise.resolve();
  private failure: unknown;

  /**
   * @param shards what is merged, in order: shard indices, or node indices of a tree level with `keyOf`
   * @param keyOf where item i's moments file is (default: the shard's own moments)
   */
  constructor(
    private readonly output: Storage,
    private readonly shards: number[],
    dim: number,
    private readonly keyOf: (item: number) => string = layout.moments,
  ) {
    this.fold = new MomentsFold(dim);
  }

  /** The shard's moments file is complete: merge it (and any ready successors) in the background. */
  add(shard: number): void {
    this.ready.add(shard);
    this.pending = this.pending.then(() => this.advance(false)).catch((error: unknown) => void (this.failure ??= error));
  }

  /** Every shard's moments merged: what was not merged yet is read now. */
  async result(): Promise<Moments> {
    await this.pending;
    if (this.failure) throw this.failure;
    await this.advance(true);
    return this.fold.result();
  }

  private async advance(all: boolean): Promise<void> {
    const takes = (j: number) => j < this.shards.length && (all || this.ready.has(this.shards[j]));
    while (takes(this.next)) {
      // Read a few ahead when catching up: each file is ~6.5 MB for 1280-d features.
      let end = this.next + 1;
      while (end - this.next < 8 && takes(end)) end++;
      const parts = await Promise.all(this.shards.slice(this.next, end).map((s) => this.output.read(this.keyOf(s))));
      for (const bytes of parts) this.fold.push(Moments.deserialize(bytes));
      this.next = end;
    }
  }
}

/** Takes every shard's moments from the merge (reading what it has not merged yet) and fits the PCA; writes pca/model.json. */
export async function reducePca(output: Storage, spec: RunSpec, merge: MomentsMerge, threads = 1): Promise<ReduceResult> {
  const t0 = performance.now();
  const total = await merge.result();
  const t1 = performance.now();
  if (total.count < 2) throw new TooFewImagesError(`PCA needs at least 2 images with features, the run has ${total.count}`);
  const model = await fitPca(total, spec.options.pca, threads);
  const fitMs = performance.now() - t1;
  await output.write(layout.pcaModel, pcaModelToJson(model));
  return { model, mergeMs: t1 - t0, fitMs };
}

/**
 * Where a node of the tree reduce reads its inputs: the shards' moments under level 1, else the level below's
 * merged moments (`layout.mergedMoments`). Node files live in the run's `_tmp/`, like the shards' moments.
 */
export function treeInputKey(level: number): (item: number) => string {
  return level === 1 ? layout.moments : (node: number) => layout.mergedMoments(level - 1, node);
}

/** The input keys of node `node` of `level` (what the job must find before it merges). */
export function treeInputs(tree: ReduceTree, level: number, node: number): string[] {
  return tree.children(level, node).map(treeInputKey(level));
}

/**
 * One inner node of the tree reduce: merges its (at most fan-in) inputs in the canonical order and writes the
 * result to `layout.mergedMoments(level, node)`. Idempotent: a node file is written atomically, so one that
 * exists is complete, and a duplicate job returns at once.
 */
export async function mergeTreeNode(
  output: Storage,
  tree: ReduceTree,
  level: number,
  node: number,
  dim: number,
): Promise<{ merged: number; skipped: boolean; ms: number }> {
  const key = layout.mergedMoments(level, node);
  const children = tree.children(level, node);
  if (await output.exists(key)) return { merged: children.length, skipped: true, ms: 0 };
  const started = performance.now();
  const moments = await new MomentsMerge(output, children, dim, treeInputKey(level)).result();
  await output.write(key, moments.serialize());
  return { merged: children.length, skipped: false, ms: performance.now() - started };
}
