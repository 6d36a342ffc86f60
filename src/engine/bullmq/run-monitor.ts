import { unprojectedShards } from '../../pipeline/run-state.js';
import type { Plan } from '../../dataset/plan.js';
import type { Storage } from '../../storage/storage.js';
import type { RunEvent, Stage } from '../engine.js';
import { parseJobId } from './queue-contract.js';
import { RunClock } from './run-clock.js';
import type { ScheduleResult } from './run-scheduler.js';

const ORDER: Record<Stage, number> = { featurize: 0, pca: 1, project: 2, commit: 3, augment: 4 };

export type QueueEventType = 'active' | 'progress' | 'completed';

/**
 * Turns the queue's events (QueueEvents: one stream for every run) into the same RunEvents the local engine
 * emits, so the CLI's ProgressReporter shows a distributed run exactly like a local one. Stages only move
 * forward; events are handled one at a time in arrival order. Progress is counted per job, so a job's
 * repeated or retried updates never count its images twice.
 */
export class RunMonitor {
  private stage: Stage | undefined;
  private readonly counted = new Map<string, { images: number; errors: number }>();
  private featurizeShards: number[] = [];
  private projectShards: number[] = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly plan: Plan,
    private readonly output: Storage,
    private readonly emit: (event: RunEvent) => void,
  ) {}

  get current(): Stage | undefined {
    return this.stage;
  }

  begin(scheduled: ScheduleResult): Promise<void> {
    return this.serial(async () => {
      if (scheduled.stage === 'featurize') {
        this.featurizeShards = scheduled.shards;
        this.enter('featurize', scheduled.shards);
      } else if (scheduled.stage === 'project') {
        this.enter('featurize', []);
        this.enter(
          'pca',
          this.plan.shards.map((s) => s.index),
        );
        this.projectShards = scheduled.shards;
        this.enter('project', scheduled.shards);
      }
    });
  }

  /** One QueueEvents event; events of other runs are ignored. */
  onEvent(type: QueueEventType, jobId: string, payload?: unknown): void {
    const id = parseJobId(jobId);
    if (!id || id.runId !== this.plan.spec.runId) return;
    void this.serial(async () => {
      if (id.name === 'featurize' && id.shard !== undefined) {
        if (type === 'progress') this.count(jobId, payload as { images?: number; errors?: number });
        if (type === 'completed') this.finishShard('featurize', jobId, id.shard, (payload as { errors?: number } | undefined)?.errors);
      } else if (id.name === 'reduce' && type === 'active') {
        await this.advance('pca');
      } else if (id.name === 'project' && id.shard !== undefined) {
        await this.advance('project');
        if (type === 'completed') this.finishShard('project', jobId, id.shard, 0);
      } else if (id.name === 'commit' && type === 'active') {
        await this.advance('commit');
      }
    });
  }

  /** Moves the display to a later stage (from an event, or from the coordinator's polling of job states). */
  moveTo(stage: Stage): Promise<void> {
    return this.serial(() => this.advance(stage));
  }

  private async advance(to: Stage): Promise<void> {
    if (this.stage !== undefined && ORDER[to] <= ORDER[this.stage]) return;
    this.settle();
    if (to === 'pca' || to === 'project' || to === 'commit') {
      if (this.stage === 'featurize')
        this.enter(
          'pca',
          this.plan.shards.map((s) => s.index),
        );
      if (to === 'project' || to === 'commit') {
        if (this.stage === 'pca') {
          // The reduce recorded which shards it queued for projection; a missing record means it is older
          // than this coordinator's view, so storage says what is left.
          const reduced = await RunClock.readReduce(this.output);
          this.projectShards = reduced?.projectShards ?? (await unprojectedShards(this.output, this.plan));
          this.enter('project', this.projectShards);
        }
        if (to === 'commit') {
          this.settle();
          this.enter(
            'commit',
            this.plan.shards.map((s) => s.index),
          );
        }
      }
    }
  }

  private enter(stage: Stage, shards: number[]): void {
    this.stage = stage;
    const images = shards.reduce((n, s) => n + (this.plan.shards[s]?.keys.length ?? 0), 0);
    this.emit({ type: 'stage', stage, shards: shards.length, images });
  }

  private count(jobId: string, update: { images?: number; errors?: number } | undefined): void {
    const seen = this.counted.get(jobId) ?? { images: 0, errors: 0 };
    const images = update?.images ?? 0;
    const errors = update?.errors ?? 0;
    // A retried job starts again from 0: its first images were counted already.
    if (images <= seen.images) return;
    this.emit({ type: 'progress', stage: 'featurize', images: images - seen.images, errors: Math.max(0, errors - seen.errors) });
    this.counted.set(jobId, { images, errors: Math.max(errors, seen.errors) });
  }

  private finishShard(stage: 'featurize' | 'project', jobId: string, shard: number, errors: number | undefined): void {
    const size = this.plan.shards[shard]?.keys.length ?? 0;
    const seen = this.counted.get(jobId) ?? { images: 0, errors: 0 };
    if (seen.images < size) {
      this.emit({ type: 'progress', stage, images: size - seen.images, errors: Math.max(0, (errors ?? seen.errors) - seen.errors) });
    }
    this.counted.set(jobId, { images: size, errors: errors ?? seen.errors });
    this.emit({ type: 'shard-done', stage, shard });
  }

  /** Before leaving a shard stage, count what events did not report (missed while the coordinator was away). */
  private settle(): void {
    if (this.stage !== 'featurize' && this.stage !== 'project') return;
    const shards = this.stage === 'featurize' ? this.featurizeShards : this.projectShards;
    const idOf = (s: number) => `${this.plan.spec.runId}.${this.stage}.${s}`;
    for (const s of shards)
      if ((this.counted.get(idOf(s))?.images ?? 0) < (this.plan.shards[s]?.keys.length ?? 0)) this.finishShard(this.stage, idOf(s), s, undefined);
  }

  private serial(task: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(task).catch(() => {});
    return this.queue;
  }
}
