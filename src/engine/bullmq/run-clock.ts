import type { Storage } from '../../storage/storage.js';

export interface ReduceRecord {
  /** From the flow's creation (the coordinator's submit) to the reduce job's start: the featurize stage. */
  featurizeMs: number;
  mergeMs: number;
  fitMs: number;
  finishedAt: number;
  /** Shards the reduce queued for projection: what the coordinator's progress counts in the project stage. */
  projectShards: number[];
}

/**
 * The timings a distributed run's manifest needs, kept beside the run in `_tmp/engine/` because the stages that
 * measure them run in different processes (coordinator, reduce worker, commit worker). Removed with `_tmp/` by
 * the commit. Wall-clock times (Date.now) since performance.now() does not compare across machines.
 */
export class RunClock {
  static readonly startedKey = '_tmp/engine/started.json';
  static readonly reduceKey = '_tmp/engine/reduce.json';

  static async start(output: Storage, now = Date.now()): Promise<void> {
    await output.write(RunClock.startedKey, JSON.stringify({ startedAt: now }));
  }

  static async startedAt(output: Storage): Promise<number | undefined> {
    return (await readJson<{ startedAt: number }>(output, RunClock.startedKey))?.startedAt;
  }

  static async writeReduce(output: Storage, record: ReduceRecord): Promise<void> {
    await output.write(RunClock.reduceKey, JSON.stringify(record));
  }

  static readReduce(output: Storage): Promise<ReduceRecord | undefined> {
    return readJson<ReduceRecord>(output, RunClock.reduceKey);
  }
}

async function readJson<T>(output: Storage, key: string): Promise<T | undefined> {
  if (!(await output.exists(key))) return undefined;
  try {
    return JSON.parse((await output.read(key)).toString()) as T;
  } catch {
    return undefined;
  }
}
