import { hostname } from 'node:os';
import { FlowProducer, Queue, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { AccessPolicy } from './access-policy.js';
import type { RedisTarget } from './connection.js';
import { isAuthError, RedisAuthError } from './errors.js';
import { DEFAULT_METRICS_INTERVAL_MS, EmfMetrics } from './emf-metrics.js';
import { JobProcessor } from './job-processor.js';
import { LogSink } from './log-sink.js';
import { ModelBroadcast } from './model-broadcast.js';
import { parseJobId, QUEUE_NAME, QUEUE_PREFIX } from './queue-contract.js';
import { RunCache } from './run-cache.js';
import { RunScheduler } from './run-scheduler.js';

export interface ShardWorkerOptions {
  redis: RedisTarget;
  /** Jobs this process runs at once (default 1). They share the run's one model session. */
  concurrency?: number;
  /** onnxruntime threads of the model session (default 1). */
  threads?: number;
  /** BullMQ lock of an active job; a dead worker's job is taken over within about lockMs + stalledMs. */
  lockMs?: number;
  stalledMs?: number;
  /** Storage prefixes the worker accepts for inputs and outputs (default: the current directory only; never "any"). */
  allow?: string[] | AccessPolicy;
  metricsIntervalMs?: number;
  sink?: LogSink;
  /** Local model cache (default `modelCacheDir()/by-sha256`). */
  modelCacheDir?: string;
  /** Name in `fruits status` and in the logs (default host:pid). */
  name?: string;
  /** Called once when Redis refuses the credentials (WRONGPASS/NOAUTH): reconnecting would never succeed. */
  onFatal?: (error: RedisAuthError) => void;
}

/** One `fruits worker` process: a BullMQ worker on the queue `shards` that runs every stage of any run. */
export class ShardWorker {
  private constructor(
    readonly name: string,
    private readonly worker: Worker,
    private readonly queue: Queue,
    private readonly flows: FlowProducer,
    private readonly runs: RunCache,
    private readonly metrics: EmfMetrics,
    readonly log: Logger,
    private readonly inHand: { jobs: number },
  ) {}

  static start(options: ShardWorkerOptions): ShardWorker {
    const name = options.name ?? `${hostname()}:${process.pid}`;
    const sink = options.sink ?? new LogSink(process.stdout);
    const log = sink.logger({ role: 'worker', worker: name });
    const connection = options.redis.options({ name: `fruits-worker-${name}` });
    let fatal = false;
    const throttled = throttledWarning(log, options.redis.redacted);
    const warn = (error: Error) => {
      if (!isAuthError(error)) return throttled(error);
      if (fatal) return;
      fatal = true;
      options.onFatal?.(new RedisAuthError(`Redis at ${options.redis.redacted} refused the credentials: ${error.message}`, { cause: error }));
    };
    const queue = new Queue(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
    const flows = new FlowProducer({ connection, prefix: QUEUE_PREFIX });
    queue.on('error', warn);
    flows.on('error', warn);
    const policy = options.allow instanceof AccessPolicy ? options.allow : AccessPolicy.resolve(options.allow, undefined, process.cwd());
    const threads = options.threads ?? 1;
    const runs = new RunCache({ policy, broadcast: new ModelBroadcast(options.modelCacheDir), threads });
    const processor = new JobProcessor(runs, new RunScheduler(queue, flows), log, {
      describeEngine: async () => {
        const workers = await queue.getWorkersCount();
        return `bullmq (${workers} worker${workers === 1 ? '' : 's'} × ${threads} onnxruntime thread${threads === 1 ? '' : 's'})`;
      },
    });
    const lockDuration = options.lockMs ?? 30_000;
    // Counted so that a stop with nothing in hand does not wait for a Redis that may never answer.
    const inHand = { jobs: 0 };
    const run = async (job: Job, token?: string) => {
      inHand.jobs++;
      try {
        return await processor.process(job, token);
      } finally {
        inHand.jobs--;
      }
    };
    const worker = new Worker(QUEUE_NAME, run, {
      connection,
      prefix: QUEUE_PREFIX,
      name,
      concurrency: options.concurrency ?? 1,
      lockDuration,
      stalledInterval: options.stalledMs ?? 30_000,
      // A job whose worker vanished is put back in the queue; twice more is allowed (a Redis restart can make
      // a live job look stalled once) before it counts as failed.
      maxStalledCount: 2,
    });
    worker.on('error', warn);
    worker.on('active', (job: Job) => log.info({ ...describe(job), attempt: job.attemptsMade + 1 }, 'job started'));
    // A job taken back from a worker that did not renew its lock (it died, or its event loop was blocked past
    // lockMs): it runs again elsewhere, so the log says why a shard has two "job started" lines.
    worker.on('stalled', (id: string) => log.warn(describeId(id), 'job stalled: its lock expired, put back in the queue'));
    worker.on('failed', (job: Job | undefined, error: Error) => {
      if (job) log.warn({ ...describe(job), attempt: job.attemptsMade, of: job.opts.attempts ?? 1, error: error.message }, 'job failed');
    });
    const metrics = new EmfMetrics(queue, sink, options.metricsIntervalMs ?? DEFAULT_METRICS_INTERVAL_MS);
    metrics.start();
    log.info(
      {
        redis: options.redis.redacted,
        concurrency: options.concurrency ?? 1,
        threads,
        lockMs: lockDuration,
        allow: policy.allowed,
        allowFrom: policy.source,
        accepts: policy.describe(),
      },
      'worker started',
    );
    if (policy.anyLocalPath)
      log.warn(
        { allow: policy.allowed },
        'accepting jobs that read and write ANY local path (--allow /): anyone who can write to the queue can make this worker read any file it can',
      );
    return new ShardWorker(name, worker, queue, flows, runs, metrics, log, inHand);
  }

  /** Jobs in hand right now. */
  get jobsInHand(): number {
    return this.inHand.jobs;
  }

  /**
   * Stops taking jobs. Without `force`, waits for the jobs in hand to finish; with it, returns at once and the
   * jobs in hand go back to the queue when their lock expires (another worker redoes them: stages are idempotent).
   */
  async close(force = false): Promise<void> {
    this.metrics.stop();
    await this.worker.close(force);
    await Promise.all([this.runs.close(), this.queue.close(), this.flows.close()]);
  }
}

function describe(job: Job): Record<string, unknown> {
  return { ...describeId(job.id), stage: job.name };
}

function describeId(jobId: string | undefined): Record<string, unknown> {
  const id = parseJobId(jobId);
  return { jobId, runId: id?.runId, stage: id?.name, shard: id?.shard };
}

/** Connection errors repeat on every reconnection attempt: log each distinct one at most every 10 s. */
function throttledWarning(log: Logger, redis: string): (error: Error) => void {
  const last = new Map<string, number>();
  return (error: Error) => {
    const now = Date.now();
    if (now - (last.get(error.message) ?? 0) < 10_000) return;
    last.set(error.message, now);
    log.warn({ redis, error: error.message }, 'redis connection problem (retrying)');
  };
}
