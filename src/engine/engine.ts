import type { Manifest } from '../dataset/manifest.js';
import type { Plan } from '../dataset/plan.js';

export type Stage = 'featurize' | 'pca' | 'project' | 'commit' | 'augment';

/** What an engine reports while it runs; the CLI turns these into a progress bar or log lines. */
export type RunEvent =
  | { type: 'stage'; stage: Stage; shards: number; images: number }
  | { type: 'progress'; stage: Stage; images: number; errors: number }
  | { type: 'shard-done'; stage: Stage; shard: number };

/** A part of a resumed run that did not read back as written (`problem`): its shard is done again for `stage`. */
export interface Redo {
  stage: 'featurize' | 'project';
  key: string;
  problem: string;
}

export interface RunHooks {
  onEvent?: (event: RunEvent) => void;
  onRedo?: (redo: Redo) => void;
  /** Aborting stops dispatching new work; parts already written stay, so --resume continues from there. */
  signal?: AbortSignal;
}

/** Runs a planned job to completion, whatever machines it uses. */
export interface Engine {
  readonly name: string;
  run(plan: Plan, hooks?: RunHooks): Promise<Manifest>;
}

export { RunAbortedError } from './errors.js';
