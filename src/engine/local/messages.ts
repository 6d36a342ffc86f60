import type { WireError } from '../../errors/wire.js';
import type { AugmentResult, AugmentSpec } from '../../pipeline/augment.js';
import type { FeaturizeResult } from '../../dataset/featurize-marker.js';
import type { Shard } from '../../dataset/plan.js';
import type { RunSpec } from '../../dataset/run-spec.js';
import type { ModelInfo } from '../../model/feature-extractor.js';

/** workerData of a pipeline thread. */
export interface ThreadInit {
  spec: RunSpec;
  modelPath: string;
  threads: number;
  /** Shared with the pool: set to 1 when the threads must stop at the next batch boundary. */
  stop: Int32Array;
  /** For augment tasks: the scene settings and the background photo files each thread decodes once. */
  augment?: { spec: AugmentSpec; backgroundFiles: string[] };
}

export type ThreadTask = { type: 'featurize'; shard: Shard } | { type: 'project'; shard: number } | { type: 'augment'; shard: number };

export type ThreadMessage =
  | { type: 'ready'; model: ModelInfo }
  | { type: 'progress'; images: number; errors: number }
  | { type: 'featurized'; result: FeaturizeResult }
  | { type: 'projected'; shard: number; rows: number }
  | { type: 'augmented'; result: AugmentResult }
  | { type: 'augment-progress'; scenes: number }
  | { type: 'failed'; error: WireError };
