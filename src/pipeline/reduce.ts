import { layout } from '../dataset/layout.js';
import { Moments } from '../pca/moments.js';
import { fitPca, pcaModelToJson, type PcaModel } from '../pca/pca-model.js';
import type { Storage } from '../storage/storage.js';
import type { RunSpec } from './run-spec.js';

export interface ReduceResult {
  model: PcaModel;
  /** Reading and merging the per-shard moments, and the eigen-decomposition, in ms. */
  mergeMs: number;
  fitMs: number;
}

/** Merges every shard's moments and fits the PCA; writes pca/model.json. */
export async function reducePca(output: Storage, spec: RunSpec, shards: number[], dim: number, threads = 1): Promise<ReduceResult> {
  const t0 = performance.now();
  const total = Moments.empty(dim);
  // Read a few at a time: each file is ~6.5 MB for 1280-d features.
  for (let i = 0; i < shards.length; i += 8) {
    const parts = await Promise.all(shards.slice(i, i + 8).map((s) => output.read(layout.moments(s))));
    for (const bytes of parts) total.merge(Moments.deserialize(bytes));
  }
  const t1 = performance.now();
  if (total.count < 2) throw new Error(`PCA needs at least 2 images with features, the run has ${total.count}`);
  const model = await fitPca(total, spec.options.pca, threads);
  const fitMs = performance.now() - t1;
  await output.write(layout.pcaModel, pcaModelToJson(model));
  return { model, mergeMs: t1 - t0, fitMs };
}
