import type { RunSpec } from './run-spec.js';

/** One shard of a run's plan: the unit every stage works on and every part file is named after. */
export interface Shard {
  index: number;
  /** Relative keys under the input root, sorted. */
  keys: string[];
  labels: string[];
  /** Input file sizes in bytes, as listed. */
  sizes: number[];
}

/** The whole work list of a run, written to _tmp/plan.json so any worker or a resumed run sees the same shards. */
export interface Plan {
  spec: RunSpec;
  images: number;
  classes: string[];
  shards: Shard[];
  listMs: number;
}
