import { parentPort, workerData } from 'node:worker_threads';
import { toWire } from '../../errors/wire.js';
import { MomentsMerge, reducePca } from '../../pipeline/reduce.js';
import { openStorage } from '../../storage/open-storage.js';
import type { ReduceTask, ReduceOutcome } from './threaded-reduce.js';

/** Thread entry of the reduce: merge the shards' moments and fit the PCA, off the worker's event loop. */
const task = workerData as ReduceTask;
let outcome: ReduceOutcome;
try {
  const output = openStorage(task.output);
  const reduced = await reducePca(
    output,
    task.spec,
    new MomentsMerge(
      output,
      task.inputs.map((_, i) => i),
      task.dim,
      (i) => task.inputs[i],
    ),
    task.threads,
  );
  outcome = { ok: true, k: reduced.model.k, mergeMs: reduced.mergeMs, fitMs: reduced.fitMs };
} catch (error) {
  outcome = { ok: false, error: toWire(error) };
}
parentPort!.postMessage(outcome);
