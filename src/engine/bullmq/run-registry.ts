import type { Queue } from 'bullmq';
import type { Plan } from '../../dataset/plan.js';
import { QUEUE_PREFIX } from './queue-contract.js';

/** What `fruits status` and `fruits extract --resume RUN_ID` need to find a run from its id alone. */
export interface RunRecord {
  runId: string;
  input: string;
  output: string;
  createdAt: string;
  submittedAt: string;
  images: number;
  shards: number;
}

/**
 * A Redis hash `fruits:runs` (run id → RunRecord JSON) written by the coordinator. BullMQ's own keys say which
 * jobs exist, not which runs: completed jobs are trimmed after a day, and a run in its first second has none.
 * Records older than `keepDays` are dropped when a new run registers.
 */
export class RunRegistry {
  static readonly key = `${QUEUE_PREFIX}:runs`;

  constructor(
    private readonly queue: Queue,
    private readonly keepDays = 30,
  ) {}

  async register(plan: Plan): Promise<RunRecord> {
    const record: RunRecord = {
      runId: plan.spec.runId,
      input: plan.spec.input,
      output: plan.spec.output,
      createdAt: plan.spec.createdAt,
      submittedAt: new Date().toISOString(),
      images: plan.images,
      shards: plan.shards.length,
    };
    const client = await this.queue.backend.client;
    await client.hset(RunRegistry.key, { [record.runId]: JSON.stringify(record) });
    const stale = (await this.list()).filter((r) => Date.parse(r.submittedAt) < Date.now() - this.keepDays * 86_400_000);
    if (stale.length > 0) await client.hdel(RunRegistry.key, ...stale.map((r) => r.runId));
    return record;
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const client = await this.queue.backend.client;
    const text = await client.hget(RunRegistry.key, runId);
    return text ? (JSON.parse(text) as RunRecord) : undefined;
  }

  /** Newest first. */
  async list(): Promise<RunRecord[]> {
    const client = await this.queue.backend.client;
    const all = Object.values(await client.hgetall(RunRegistry.key)).map((text: string) => JSON.parse(text) as RunRecord);
    return all.sort((a, b) => (a.submittedAt < b.submittedAt ? 1 : -1));
  }
}
