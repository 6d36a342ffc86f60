import { z } from 'zod';
import { RunFileError } from '../../dataset/errors.js';
import { describeIssues } from '../../errors/issues.js';
import { layout } from '../../dataset/layout.js';
import type { Plan } from '../../dataset/plan.js';
import { parseRunFile, planSchema } from '../../dataset/run-files.js';
import { InvalidJobError } from './errors.js';
import { isPowerOfTwo } from '../../pca/moments-tree.js';
import { JOB_NAMES, MAX_REDUCE_FAN_IN, RUN_ID_PATTERN, type JobName } from './queue-contract.js';

/** A storage root URI: a path or s3://…, bounded, printable (no control characters to smuggle into logs). */
const storageUri = z
  .string()
  .min(1)
  .max(1024)
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point of this pattern
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters');
const runId = z.string().regex(RUN_ID_PATTERN, 'must be letters, digits, _ or - (at most 64)');

const shardJob = z.strictObject({ runId, output: storageUri, shard: z.number().int().min(0).max(100_000_000) });
/** A power of two: the tree's shape, and so the merge order, depends on it (MomentsFold). */
const fanIn = z.number().int().min(2).max(MAX_REDUCE_FAN_IN).refine(isPowerOfTwo, 'must be a power of two');
/** `fanIn` on the reduce: the root of a tree of that fan-in; absent (jobs queued before the tree), every shard's moments. */
const runJob = z.strictObject({ runId, output: storageUri, fanIn: fanIn.optional() });
const mergeJob = z.strictObject({ runId, output: storageUri, level: z.number().int().min(1).max(64), node: z.number().int().min(0).max(100_000_000), fanIn });

/** The whole payload of a job: small, and everything else comes from the run's plan in its output root. */
export type ShardJobData = z.infer<typeof shardJob>;
export type RunJobData = z.infer<typeof runJob>;
export type MergeJobData = z.infer<typeof mergeJob>;
export type JobData = ShardJobData | RunJobData | MergeJobData;

export type ParsedJob = ({ name: 'featurize' | 'project' } & ShardJobData) | ({ name: 'reduce' | 'commit' } & RunJobData) | ({ name: 'merge' } & MergeJobData);

/** Validates a job before a worker acts on it; anything else is an InvalidJobError, failed without retries. */
export function parseJob(name: string, data: unknown): ParsedJob {
  if (!(JOB_NAMES as readonly string[]).includes(name)) throw new InvalidJobError(`unknown job name ${JSON.stringify(name).slice(0, 80)}`);
  const schema = name === 'featurize' || name === 'project' ? shardJob : name === 'merge' ? mergeJob : runJob;
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new InvalidJobError(`invalid ${name} job: ${describeIssues(parsed.error, 'data')}`);
  }
  return { name: name as JobName, ...parsed.data } as ParsedJob;
}

/**
 * What a worker requires of a plan beyond its shape. The plan is read from storage, which a crafted job can point
 * anywhere the worker may read: the model file name ends up in a local cache path, so it must be a plain file name.
 */
const trustedPlan = z.looseObject({
  spec: z.looseObject({
    runId,
    input: storageUri,
    output: storageUri,
    options: z.looseObject({ batchSize: z.number().int().max(4096) }),
    model: z.strictObject({
      file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/, 'must be a plain file name'),
      sha256: z.string(),
      // Where the coordinator found the model: copied into the manifest for serve/identify, never opened by a worker.
      path: z.string().max(4096).optional(),
    }),
  }),
  shards: z.array(z.looseObject({ keys: z.array(z.string().min(1).max(4096)) })),
});

/**
 * The plan a job's output holds, read as any run file is (dataset/run-files.ts), then held to what a worker
 * trusts. Either failure is an InvalidJobError (failed without retries), its cause the reason.
 */
export function parsePlan(text: string, where: string): Plan {
  let plan: Plan;
  try {
    plan = parseRunFile(planSchema, text, layout.plan, where);
  } catch (error) {
    if (error instanceof RunFileError) throw new InvalidJobError(error.message, { cause: error });
    throw error;
  }
  const trusted = trustedPlan.safeParse(plan);
  if (!trusted.success) {
    throw new InvalidJobError(`${where} is not a plan this worker runs: ${describeIssues(trusted.error, '').slice(0, 400)}`, { cause: trusted.error });
  }
  return plan;
}
