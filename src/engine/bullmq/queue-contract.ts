import type { JobsOptions } from 'bullmq';

/**
 * The queue contract other people's deployment code depends on (CloudWatch alarms, KEDA on the Redis list
 * `fruits:shards:wait`): keep these names exactly.
 */
export const QUEUE_PREFIX = 'fruits';
export const QUEUE_NAME = 'shards';

export const SHARD_STAGES = ['featurize', 'project'] as const;
export const RUN_STAGES = ['reduce', 'commit'] as const;
export type ShardStage = (typeof SHARD_STAGES)[number];
export type RunStage = (typeof RUN_STAGES)[number];
export type JobName = ShardStage | RunStage;
export const JOB_NAMES: readonly JobName[] = ['featurize', 'reduce', 'project', 'commit'];

/** Run ids are what `newRunId` makes (and a bit more); no '.' and no ':' so job ids parse back unambiguously. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Job ids are derived from the run and the shard, never random: adding a job that exists is a no-op in BullMQ,
 * so a resumed coordinator and a re-run reduce can enqueue the same flow again without duplicating work.
 */
export const jobId = {
  featurize: (runId: string, shard: number) => `${runId}.featurize.${shard}`,
  reduce: (runId: string) => `${runId}.reduce`,
  project: (runId: string, shard: number) => `${runId}.project.${shard}`,
  commit: (runId: string) => `${runId}.commit`,
};

export function parseJobId(id: string | undefined): { runId: string; name: JobName; shard?: number } | undefined {
  const match = /^([A-Za-z0-9_-]{1,64})\.(featurize|reduce|project|commit)(?:\.(\d+))?$/.exec(id ?? '');
  if (!match) return undefined;
  return { runId: match[1], name: match[2] as JobName, shard: match[3] === undefined ? undefined : Number(match[3]) };
}

export interface RetryPolicy {
  /** Tries per job, the first included. */
  attempts: number;
  /** First backoff delay; doubles on every further try. */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 1000 };

/**
 * Options of every job. Completed jobs are kept a day (status shows them, and re-adding a finished flow stays a
 * no-op), failed ones a week (their reason is what `fruits status` shows). A shard job that fails all its tries
 * fails its parent (reduce or commit) at once, which is how the coordinator learns the run cannot finish.
 */
export function jobOptions(id: string, retry: RetryPolicy, child: boolean): JobsOptions {
  return {
    jobId: id,
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    removeOnComplete: { age: 24 * 3600, count: 50_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
    ...(child ? { failParentOnFailure: true } : {}),
  };
}

/** The retry policy a parent job was created with, so the flow it adds (reduce → project) keeps it. */
export function retryOf(opts: JobsOptions | undefined): RetryPolicy {
  const backoff = opts?.backoff;
  const delay = typeof backoff === 'object' ? backoff.delay : typeof backoff === 'number' ? backoff : undefined;
  return { attempts: opts?.attempts ?? DEFAULT_RETRY.attempts, backoffMs: delay ?? DEFAULT_RETRY.backoffMs };
}
