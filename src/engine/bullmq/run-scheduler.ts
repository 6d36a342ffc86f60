import type { FlowProducer, Queue } from 'bullmq';
import { layout } from '../../dataset/layout.js';
import type { PartProblem } from '../../dataset/part-record.js';
import type { Plan } from '../../dataset/plan.js';
import { pendingProject, resumePoint } from '../../pipeline/run-state.js';
import type { Storage } from '../../storage/storage.js';
import type { JobData } from './job-schemas.js';
import { jobId, jobOptions, QUEUE_NAME, type RetryPolicy, type RunStage, type ShardStage } from './queue-contract.js';

export interface ScheduleResult {
  /** The stage whose flow is now queued; `done` when the output already holds _SUCCESS. */
  stage: 'featurize' | 'project' | 'done';
  /** Shards queued for that stage (those without their part in storage). */
  shards: number[];
  /** Parts that did not read back as written; their shards are among those queued. */
  problems?: PartProblem[];
}

/**
 * Turns a run's state in storage into BullMQ flows. A flow tree only fans in, so a run is two flows:
 * reduce ← featurize × pending shards, then (added by the reduce job) commit ← project × pending shards.
 * Storage is the truth about what is done; job ids are deterministic, so scheduling again (a resumed
 * coordinator, a retried reduce) queues only what is missing and re-attaches what is still queued.
 */
export class RunScheduler {
  constructor(
    private readonly queue: Queue,
    private readonly flows: FlowProducer,
  ) {}

  async schedule(plan: Plan, output: Storage, retry: RetryPolicy): Promise<ScheduleResult> {
    if (await output.exists(layout.success)) return { stage: 'done', shards: [], problems: [] };
    // The local engine's rule (resumePoint): featurize what is missing or damaged, then the reduce job keeps a
    // kept PCA model or fits one. With a kept model and every shard sound, the run continues with projection.
    const point = await resumePoint(output, plan);
    if (!point.pca || point.featurize.shards.length > 0) {
      await this.addFlow(plan, 'reduce', 'featurize', point.featurize.shards, retry);
      return { stage: 'featurize', ...point.featurize };
    }
    const project = await pendingProject(output, plan);
    await this.addFlow(plan, 'commit', 'project', project.shards, retry);
    return { stage: 'project', ...project };
  }

  async addFlow(plan: Plan, parent: RunStage, child: ShardStage, shards: number[], retry: RetryPolicy): Promise<void> {
    const { runId, output } = plan.spec;
    const parentId = jobId[parent](runId);
    // BullMQ ignores a job whose id exists. A finished or failed job with one of these ids would swallow the
    // re-add (and a failed child would keep its parent waiting forever), so those go first; waiting, delayed
    // and active ones stay and are re-attached to the parent by the add below.
    await this.removeFinished([...shards.map((s) => jobId[child](runId, s)), parentId]);
    const data = (shard?: number): JobData => (shard === undefined ? { runId, output } : { runId, output, shard });
    await this.flows.add({
      name: parent,
      queueName: QUEUE_NAME,
      data: data(),
      opts: jobOptions(parentId, retry, false),
      children: shards.map((s) => ({ name: child, queueName: QUEUE_NAME, data: data(s), opts: jobOptions(jobId[child](runId, s), retry, true) })),
    });
  }

  private async removeFinished(ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(
        ids.slice(i, i + 100).map(async (id) => {
          const job = await this.queue.getJob(id);
          if (!job) return;
          const state = await job.getState();
          if (state === 'completed' || state === 'failed') await job.remove({ removeChildren: false });
        }),
      );
    }
  }
}
