import type { Queue } from 'bullmq';
import type { LogSink } from './log-sink.js';
import { QUEUE_NAME } from './queue-contract.js';

export const METRICS_NAMESPACE = 'Fruits';
export const DEFAULT_METRICS_INTERVAL_MS = 15_000;

/**
 * The queue depth as a CloudWatch Embedded Metric Format line, every 15 s, from the coordinator and from every
 * worker: CloudWatch Logs turns it into `Fruits/PendingShards {Queue=shards}`, the metric the AWS stack scales the
 * workers on (docs/cloud.md). PendingShards = waiting + active jobs of the queue `shards`, so busy workers are
 * not scaled away while the wait list is empty. Several processes report the same value; the alarms use Maximum.
 */
export class EmfMetrics {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly queue: Queue,
    private readonly sink: LogSink,
    private readonly intervalMs = DEFAULT_METRICS_INTERVAL_MS,
  ) {}

  static line(pendingShards: number, timestamp = Date.now()): string {
    return JSON.stringify({
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['Queue']], Metrics: [{ Name: 'PendingShards', Unit: 'Count' }] }],
      },
      Queue: QUEUE_NAME,
      PendingShards: pendingShards,
    });
  }

  /** First line at once (a fresh coordinator wakes the workers up without waiting 15 s), then every interval. */
  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    const tick = () => {
      // Skip a tick while the previous one waits for Redis (down or restarting), rather than piling them up.
      if (this.running) return;
      this.running = this.report().finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  async report(): Promise<number | undefined> {
    try {
      const counts = await this.queue.getJobCounts('waiting', 'active');
      const pending = (counts.waiting ?? 0) + (counts.active ?? 0);
      this.sink.write(EmfMetrics.line(pending));
      return pending;
    } catch {
      return undefined; // no metric rather than a wrong one; the connection logs its own errors
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
