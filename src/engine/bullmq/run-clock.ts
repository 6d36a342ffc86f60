import { z } from 'zod';
import { RunFileError } from '../../dataset/errors.js';
import { layout } from '../../dataset/layout.js';
import { parseRunFile } from '../../dataset/run-files.js';
import type { Storage } from '../../storage/storage.js';

const reduceRecord = z.looseObject({
  /** From the flow's creation (the coordinator's submit) to the reduce job's start: the featurize stage. */
  featurizeMs: z.number(),
  mergeMs: z.number(),
  fitMs: z.number(),
  finishedAt: z.number(),
  /** Shards the reduce queued for projection: what the coordinator's progress counts in the project stage. */
  projectShards: z.array(z.number().int().min(0)),
});
const started = z.looseObject({ startedAt: z.number() });

export type ReduceRecord = z.infer<typeof reduceRecord>;

/**
 * The timings a distributed run's manifest needs, kept beside the run in `_tmp/engine/` because the stages that
 * measure them run in different processes (coordinator, reduce worker, commit worker). Removed with `_tmp/` by
 * the commit. Wall-clock times (Date.now) since performance.now() does not compare across machines.
 */
export class RunClock {
  static readonly startedKey = layout.engineStarted;
  static readonly reduceKey = layout.engineReduce;

  static async start(output: Storage, now = Date.now()): Promise<void> {
    await output.write(RunClock.startedKey, JSON.stringify({ startedAt: now }));
  }

  static async startedAt(output: Storage): Promise<number | undefined> {
    return (await readOptional(output, started, RunClock.startedKey))?.startedAt;
  }

  static async writeReduce(output: Storage, record: ReduceRecord): Promise<void> {
    await output.write(RunClock.reduceKey, JSON.stringify(record));
  }

  static readReduce(output: Storage): Promise<ReduceRecord | undefined> {
    return readOptional(output, reduceRecord, RunClock.reduceKey);
  }
}

/**
 * The record, or undefined when it is absent or does not read back: these are timings for the manifest, and a
 * run whose clock file was lost still commits (with the timings it can measure).
 */
async function readOptional<T>(output: Storage, schema: z.ZodType<T>, key: string): Promise<T | undefined> {
  try {
    return parseRunFile(schema, (await output.read(key)).toString(), key);
  } catch (error) {
    if (error instanceof RunFileError || (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
