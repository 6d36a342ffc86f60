import { layout } from '../dataset/layout.js';
import { Moments } from '../pca/moments.js';
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
 * Merges shard moments in the plan's shard order, taking each shard as soon as it is ready and its predecessors
 * are merged: an engine that finishes shards one by one (the local one) has little left to read when the last
 * one is done. The order is fixed whatever finishes first, so the PCA is the same bit for bit as a merge after
 * the fact (reducePca).
 */
export class MomentsMerge {
  private readonly total: Moments;
  private readonly ready = new Set<number>();
  private next = 0;
  private pending: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    private readonly output: Storage,
    private readonly shards: number[],
    dim: number,
  ) {
    this.total = Moments.empty(dim);
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
    return this.total;
  }

  private async advance(all: boolean): Promise<void> {
    const takes = (j: number) => j < this.shards.length && (all || this.ready.has(this.shards[j]));
    while (takes(this.next)) {
      // Read a few ahead when catching up: each file is ~6.5 MB for 1280-d features.
      let end = this.next + 1;
      while (end - this.next < 8 && takes(end)) end++;
      const parts = await Promise.all(this.shards.slice(this.next, end).map((s) => this.output.read(layout.moments(s))));
      for (const bytes of parts) this.total.merge(Moments.deserialize(bytes));
      this.next = end;
    }
  }
}

/** Takes every shard's moments from the merge (reading what it has not merged yet) and fits the PCA; writes pca/model.json. */
export async function reducePca(output: Storage, spec: RunSpec, merge: MomentsMerge, threads = 1): Promise<ReduceResult> {
  const t0 = performance.now();
  const total = await merge.result();
  const t1 = performance.now();
  if (total.count < 2) throw new Error(`PCA needs at least 2 images with features, the run has ${total.count}`);
  const model = await fitPca(total, spec.options.pca, threads);
  const fitMs = performance.now() - t1;
  await output.write(layout.pcaModel, pcaModelToJson(model));
  return { model, mergeMs: t1 - t0, fitMs };
}
