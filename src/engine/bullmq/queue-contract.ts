import type { JobsOptions } from 'bullmq';
import { DEFAULT_REDUCE_FAN_IN } from '../../pca/moments-tree.js';

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
/** `merge`: an inner node of the tree reduce (between the featurize shards and the reduce, which is its root). */
export type JobName = ShardStage | RunStage | 'merge';
export const JOB_NAMES: readonly JobName[] = ['featurize', 'merge', 'reduce', 'project', 'commit'];

/** Run ids are what `newRunId` makes (and a bit more); no '.' and no ':' so job ids parse back unambiguously. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Job ids are derived from the run and the shard, never random: adding a job that exists is a no-op in BullMQ,
 * so a resumed coordinator and a re-run reduce can enqueue the same flow again without duplicating work.
 */
export const jobId = {
  featurize: (runId: string, shard: number) => `${runId}.featurize.${shard}`,
  merge: (runId: string, level: number, node: number) => `${runId}.merge.${level}.${node}`,
  reduce: (runId: string) => `${runId}.reduce`,
  project: (runId: string, shard: number) => `${runId}.project.${shard}`,
  commit: (runId: string) => `${runId}.commit`,
};

export interface ParsedJobId {
  runId: string;
  name: JobName;
  shard?: number;
  /** merge jobs: the node's level (≥ 1) and index in the tree reduce. */
  level?: number;
  node?: number;
}

export function parseJobId(id: string | undefined): ParsedJobId | undefined {
  const merge = /^([A-Za-z0-9_-]{1,64})\.merge\.(\d+)\.(\d+)$/.exec(id ?? '');
  if (merge) return { runId: merge[1], name: 'merge', level: Number(merge[2]), node: Number(merge[3]) };
  const match = /^([A-Za-z0-9_-]{1,64})\.(featurize|reduce|project|commit)(?:\.(\d+))?$/.exec(id ?? '');
  if (!match) return undefined;
  return { runId: match[1], name: match[2] as JobName, shard: match[3] === undefined ? undefined : Number(match[3]) };
}

/** Largest --reduce-fan-in: a "flat" reduce (one job reading every shard's moments) up to 2^20 shards. */
export const MAX_REDUCE_FAN_IN = 2 ** 20;

/**
 * Shards queued per Redis transaction (--enqueue-batch): bounded, so a run of any size never builds one huge
 * MULTI in the coordinator and in Redis (the flow of every shard at once is what ran Redis out of memory in
 * taskforcesh/bullmq#1899).
 */
export const DEFAULT_ENQUEUE_BATCH = 1000;

/** How a run is laid out in the queue: the tree reduce's fan-in and the size of each enqueue transaction. */
export interface QueueLayout {
  /** Fan-in of the tree reduce (a power of two); one ≥ the shard count is the flat merge in the reduce job. */
  fanIn: number;
  /** Shard jobs per Redis transaction, at most (a batch holds whole tree nodes, so it can be fewer). */
  enqueueBatch: number;
}

export const DEFAULT_QUEUE_LAYOUT: QueueLayout = { fanIn: DEFAULT_REDUCE_FAN_IN, enqueueBatch: DEFAULT_ENQUEUE_BATCH };

export interface RetryPolicy {
  /** Tries per job, the first included. */
  attempts: number;
  /** First backoff delay; doubles on every further try. */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 1000 };

/** Failed jobs kept per queue: their reasons are what `fruits status` and a failing coordinator show. */
export const KEPT_FAILED_JOBS = 10_000;

/**
 * Options of every job. What Redis keeps is only what status and resume read:
 * - a completed shard or merge job (a child) is removed at once: storage says what is done (parts, markers,
 *   merged moments), its parent keeps the child's small return value in its own `processed` hash until the
 *   parent finishes, and the QueueEvents stream (capped by BullMQ) carries it to a watching coordinator. Kept
 *   children were what made Redis grow with the run (≈ 1 KB per completed shard);
 * - a completed reduce or commit (a run's parents, two per run) is kept a day, at most 1,000: a re-attaching
 *   coordinator and `fruits status` read their state;
 * - a failed job is kept a week (at most 10,000): its reason is what `fruits status` shows, and `--resume`
 *   removes it before queueing the shard again.
 * A child that fails all its tries fails its parent at once (merge → reduce, shard → merge or reduce/commit),
 * which is how the coordinator learns the run cannot finish.
 */
export function jobOptions(id: string, retry: RetryPolicy, child: boolean): JobsOptions {
  return {
    jobId: id,
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    removeOnComplete: child ? true : { age: 24 * 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600, count: KEPT_FAILED_JOBS },
    ...(child ? { failParentOnFailure: true } : {}),
  };
}

/** The retry policy a parent job was created with, so the flow it adds (reduce → project) keeps it. */
export function retryOf(opts: JobsOptions | undefined): RetryPolicy {
  const backoff = opts?.backoff;
  const delay = typeof backoff === 'object' ? backoff.delay : typeof backoff === 'number' ? backoff : undefined;
  return { attempts: opts?.attempts ?? DEFAULT_RETRY.attempts, backoffMs: delay ?? DEFAULT_RETRY.backoffMs };
}
