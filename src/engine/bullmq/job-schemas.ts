import { z } from 'zod';
import type { Plan } from '../../dataset/plan.js';
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
    throw new InvalidJobError(`invalid ${name} job: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'data'}: ${i.message}`).join('; ')}`);
  }
  return { name: name as JobName, ...parsed.data } as ParsedJob;
}

/**
 * The parts of a plan a worker relies on. The plan is read from storage, which a crafted job can point anywhere
 * the worker may read: the model file name ends up in a local cache path, so it must be a plain file name.
 */
const planSchema = z.looseObject({
  spec: z.looseObject({
    runId,
    input: storageUri,
    output: storageUri,
    options: z.looseObject({ batchSize: z.number().int().min(1).max(4096), imageSize: z.number().int().min(1), maxPixels: z.number().int().min(1) }),
    model: z.strictObject({
      file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/, 'must be a plain file name'),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits'),
      // Where the coordinator found the model: copied into the manifest for serve/identify, never opened by a worker.
      path: z.string().max(4096).optional(),
    }),
  }),
  images: z.number().int().min(0),
  shards: z.array(
    z.looseObject({
      index: z.number().int().min(0),
      keys: z.array(z.string().min(1).max(4096)),
      labels: z.array(z.string()),
    }),
  ),
});

export function parsePlan(text: string, where: string): Plan {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidJobError(`${where} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = planSchema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidJobError(
      `${where} is not a fruits plan: ${parsed.error.issues
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')
        .slice(0, 400)}`,
    );
  }
  const plan = parsed.data as unknown as Plan;
  plan.shards.forEach((s, i) => {
    if (s.index !== i) throw new InvalidJobError(`${where}: shard ${i} has index ${s.index}`);
  });
  return plan;
}
