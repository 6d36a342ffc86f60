import type { WireError } from '../../errors/wire.js';
import { WorkerTaskError } from '../errors.js';
import { spawnThread } from '../local/spawn-thread.js';
import { threadError } from '../thread-errors.js';
import type { RunSpec } from '../../dataset/run-spec.js';

export interface ReduceTask {
  output: string;
  spec: RunSpec;
  /** The moments files the root merges, in order: every shard's (a flat reduce) or the top level's nodes. */
  inputs: string[];
  dim: number;
  threads: number;
}

export type ReduceOutcome = { ok: true; k: number; mergeMs: number; fitMs: number } | { ok: false; error: WireError };

/**
 * reducePca in a worker thread. The eigen-decomposition keeps a thread busy for seconds; on the worker's main
 * thread that would stop BullMQ from renewing the job's lock, another worker would take the "stalled" reduce
 * and fit the same PCA a second time. Off the main thread, lock renewal and progress go on.
 */
export function reduceInThread(task: ReduceTask): Promise<{ k: number; mergeMs: number; fitMs: number }> {
  return new Promise((resolve, reject) => {
    const thread = spawnThread(import.meta.url, 'reduce-thread', task);
    thread.once('message', (outcome: ReduceOutcome) => {
      if (outcome.ok) resolve(outcome);
      else reject(threadError(outcome.error));
      void thread.terminate();
    });
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new WorkerTaskError(`the reduce thread exited with code ${code} before reporting`)));
  });
}
