import type { Job, Queue } from 'bullmq';
import { layout } from '../../dataset/layout.js';
import type { Manifest } from '../../dataset/manifest.js';
import { openStorage } from '../../storage/open-storage.js';
import type { Storage } from '../../storage/storage.js';
import { jobId, parseJobId } from './queue-contract.js';
import type { RunRecord, RunRegistry } from './run-registry.js';
import { readManifest } from '../../dataset/run-files.js';

export type RunState = 'complete' | 'running' | 'failed' | 'stopped' | 'unknown';

export interface RunReport extends RunRecord {
  state: RunState;
  /** From storage: shards whose featurize marker / results part exists. */
  featurized?: number;
  projected?: number;
  /** This run's jobs in Redis by state (completed ones are not counted: storage says what is done). */
  jobs: Record<string, number>;
  failures: { jobId: string; stage: string; shard?: number; attempts: number; reason: string }[];
  manifest?: Pick<Manifest, 'counts' | 'completedAt' | 'throughput'>;
  /** Why storage could not be read, if it could not. */
  storageError?: string;
}

export interface WorkerReport {
  name: string;
  addr: string;
  ageSeconds: number;
  idleSeconds: number;
}

export interface QueueReport {
  redis: string;
  queue: string;
  counts: Record<string, number>;
  /** waiting + active: the value of the PendingShards metric. */
  pendingShards: number;
  workers: WorkerReport[];
  runs: RunReport[];
}

const LIVE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

/** What `fruits status` shows: the queue, the live workers, and each run's progress from Redis and storage. */
export class QueueStatus {
  constructor(
    private readonly queue: Queue,
    private readonly registry: RunRegistry,
    private readonly redis: string,
  ) {}

  async report(options: { runId?: string; runs?: number } = {}): Promise<QueueReport> {
    const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed');
    const workers = (await this.queue.getWorkers()).map((w) => ({
      name: String(w.rawname ?? w.name).replace(/^.*?:w:/, ''),
      addr: String(w.addr ?? ''),
      ageSeconds: Number(w.age ?? 0),
      idleSeconds: Number(w.idle ?? 0),
    }));
    let records = await this.registry.list();
    if (options.runId) records = records.filter((r) => r.runId === options.runId);
    else records = records.slice(0, options.runs ?? 5);
    const jobs = await this.jobsByRun(new Set(records.map((r) => r.runId)));
    const runs = await Promise.all(records.map((r) => this.runReport(r, jobs.counts.get(r.runId) ?? {}, jobs.failed.get(r.runId) ?? [])));
    return {
      redis: this.redis,
      queue: `${this.queue.opts.prefix}:${this.queue.name}`,
      counts,
      pendingShards: (counts.waiting ?? 0) + (counts.active ?? 0),
      workers,
      runs,
    };
  }

  /** Live and failed jobs of the runs shown, grouped by run (job ids start with the run id). */
  private async jobsByRun(runIds: Set<string>): Promise<{ counts: Map<string, Record<string, number>>; failed: Map<string, Job[]> }> {
    const counts = new Map<string, Record<string, number>>();
    const failed = new Map<string, Job[]>();
    for (const state of [...LIVE_STATES, 'failed' as const]) {
      for (const job of await this.queue.getJobs([state], 0, 9999)) {
        const id = parseJobId(job?.id);
        if (!id || !runIds.has(id.runId)) continue;
        const run = counts.get(id.runId) ?? {};
        run[state] = (run[state] ?? 0) + 1;
        counts.set(id.runId, run);
        if (state === 'failed') failed.set(id.runId, [...(failed.get(id.runId) ?? []), job]);
      }
    }
    return { counts, failed };
  }

  private async runReport(record: RunRecord, jobs: Record<string, number>, failed: Job[]): Promise<RunReport> {
    const report: RunReport = { ...record, state: 'unknown', jobs, failures: [] };
    // Shard failures first: a parent's own reason is only "child … failed".
    failed.sort((a, b) => Number(parseJobId(a.id)?.shard === undefined) - Number(parseJobId(b.id)?.shard === undefined));
    report.failures = failed.slice(0, 10).map((j) => {
      const id = parseJobId(j.id)!;
      return { jobId: j.id!, stage: id.name, shard: id.shard, attempts: j.attemptsMade, reason: j.failedReason ?? '' };
    });
    try {
      const output = openStorage(record.output);
      if (await output.exists(layout.success)) {
        const manifest = await readManifest(output);
        report.manifest = { counts: manifest.counts, completedAt: manifest.completedAt, throughput: manifest.throughput };
        report.featurized = report.projected = manifest.counts.shards;
        report.state = 'complete';
        return report;
      }
      report.featurized = await countUnder(output, layout.folders.featurized);
      report.projected = await countUnder(output, layout.folders.results);
    } catch (error) {
      report.storageError = (error as Error).message;
    }
    const [reduce, commit] = await Promise.all([this.queue.getJobState(jobId.reduce(record.runId)), this.queue.getJobState(jobId.commit(record.runId))]);
    const live = LIVE_STATES.some((s) => (jobs[s] ?? 0) > 0);
    report.state = reduce === 'failed' || commit === 'failed' ? 'failed' : live ? 'running' : 'stopped';
    return report;
  }
}

async function countUnder(output: Storage, prefix: string): Promise<number> {
  let n = 0;
  for await (const entry of output.list(prefix)) if (!entry.key.endsWith('.tmp')) n++;
  return n;
}
