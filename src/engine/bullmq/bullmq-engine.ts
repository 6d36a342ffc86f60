import { FlowProducer, Queue, QueueEvents, type Job } from 'bullmq';
import { layout } from '../../dataset/layout.js';
import type { Manifest } from '../../dataset/manifest.js';
import type { Plan } from '../../dataset/plan.js';
import type { RunOptions } from '../../dataset/run-spec.js';
import { openStorage } from '../../storage/open-storage.js';
import type { Storage } from '../../storage/storage.js';
import { RunAbortedError, type Engine, type RunHooks } from '../engine.js';
import type { RedisTarget } from './connection.js';
import { DEFAULT_METRICS_INTERVAL_MS, EmfMetrics } from './emf-metrics.js';
import { isAuthError, RedisAuthError, RedisUnreachableError, RunFailedError, UnknownRunError } from './errors.js';
import type { LogSink } from './log-sink.js';
import { ModelBroadcast } from './model-broadcast.js';
import { DEFAULT_RETRY, jobId, parseJobId, QUEUE_NAME, QUEUE_PREFIX, type QueueLayout, type RetryPolicy } from './queue-contract.js';
import { RunClock } from './run-clock.js';
import { RunMonitor } from './run-monitor.js';
import { RunRegistry } from './run-registry.js';
import { RunScheduler, type ScheduleResult } from './run-scheduler.js';
import { readManifest, readPlan } from '../../dataset/run-files.js';

export interface BullmqEngineOptions {
  redis: RedisTarget;
  /** The model the run was planned with; published once to the run's output for the workers. */
  modelPath: string;
  retry?: RetryPolicy;
  /** How often the coordinator checks the run's state (job states in Redis, _SUCCESS in storage). */
  pollMs?: number;
  /**
   * How long the coordinator waits for an unreachable Redis (first contact, or an outage mid-run) before it
   * gives up and exits, naming the address and the `--resume RUN_ID` command (default 2 min, `--redis-timeout`).
   */
  redisTimeoutMs?: number;
  /** Where the EMF PendingShards lines go (stdout by default), and how often (0 = never). */
  metricsSink?: LogSink;
  metricsIntervalMs?: number;
  /** The tree reduce's fan-in and the shards per enqueue transaction (DEFAULT_QUEUE_LAYOUT). */
  queueLayout?: QueueLayout;
  /** Human-readable notes (model upload, Redis reconnections); stderr in the CLI. */
  log?: (line: string) => void;
}

interface Connections {
  queue: Queue;
  flows: FlowProducer;
  scheduler: RunScheduler;
  registry: RunRegistry;
}

/**
 * The coordinator of a distributed run: publishes the model, queues the run as BullMQ flows for `fruits worker`
 * processes on any number of machines, relays their progress, and waits for the commit's _SUCCESS. Workers do
 * all the stage work (the reduce and the commit too), so a run also finishes without its coordinator
 * (`extract --detach`, or a coordinator that died): `submit` alone is enough.
 */
export class BullmqEngine implements Engine {
  readonly name = 'bullmq';

  constructor(private readonly options: BullmqEngineOptions) {}

  private get redisTimeoutMs(): number {
    return this.options.redisTimeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  }

  /** Connects once and disconnects: a wrong password or an unreachable Redis fails before anything is written. */
  async probe(signal?: AbortSignal): Promise<void> {
    await this.disconnect(await this.connect(signal));
  }

  /**
   * Where a run known to the queue lives, and the options it was planned with (from its plan, or its manifest
   * once finished): what `fruits extract --resume RUN_ID` needs instead of <input> <output> and the options.
   */
  async findRun(runId: string): Promise<{ input: string; output: string; options: RunOptions }> {
    const connections = await this.connect();
    let record;
    try {
      record = await connections.registry.get(runId);
    } finally {
      await this.disconnect(connections);
    }
    if (!record)
      throw new UnknownRunError(`no run ${runId} in the queue's records at ${this.options.redis.redacted}; resume it with <input> <output> --resume instead`);
    const output = openStorage(record.output);
    const stored = (await output.exists(layout.plan))
      ? (await readPlan(output)).spec.options
      : (await output.exists(layout.manifest))
        ? (await readManifest(output)).options
        : undefined;
    if (!stored) throw new UnknownRunError(`run ${runId} was recorded with output ${record.output}, which holds no run any more`);
    return { input: record.input, output: record.output, options: stored };
  }

  /** Queues what the run still needs (nothing twice) and returns; the workers finish it. */
  async submit(plan: Plan): Promise<ScheduleResult> {
    const connections = await this.connect();
    try {
      return await this.enqueue(connections, plan, openStorage(plan.spec.output));
    } finally {
      await this.disconnect(connections);
    }
  }

  async run(plan: Plan, hooks: RunHooks = {}): Promise<Manifest> {
    const emit = hooks.onEvent ?? (() => {});
    const output = openStorage(plan.spec.output);
    const connections = await this.connect(hooks.signal);
    const { queue } = connections;
    const monitor = new RunMonitor(plan, output, emit);
    // Listening starts before anything is queued, so no event of this run is missed.
    const events = new QueueEvents(QUEUE_NAME, { connection: this.options.redis.options({ name: 'fruits-coordinator-events' }), prefix: QUEUE_PREFIX });
    events.on('error', this.warn);
    let wake: () => void = () => {};
    const relay = (type: 'active' | 'progress' | 'completed') => (event: { jobId: string; data?: unknown; returnvalue?: unknown }) => {
      monitor.onEvent(type, event.jobId, type === 'progress' ? event.data : event.returnvalue);
      if (type === 'completed' && event.jobId === jobId.commit(plan.spec.runId)) wake();
    };
    events.on('active', relay('active'));
    events.on('progress', relay('progress'));
    events.on('completed', relay('completed'));
    events.on('failed', (event: { jobId: string }) => {
      if (parseJobId(event.jobId)?.runId === plan.spec.runId) wake();
    });
    const sink = this.options.metricsSink;
    const metrics = sink && new EmfMetrics(queue, sink, this.options.metricsIntervalMs ?? DEFAULT_METRICS_INTERVAL_MS);
    // An outage is waited for (Redis commands wait for the reconnection), but not for ever: the watch fails the
    // run once Redis has been unreachable for the timeout. The queued work stays for the workers.
    const outage = new OutageWatch(this.options.redis.redacted, this.redisTimeoutMs, `fruits extract --resume ${plan.spec.runId} --engine bullmq`, (line) =>
      this.options.log?.(line),
    );
    this.onRedisError = (error) => outage.error(error);
    const guard = new AbortController();
    const onAbort = () => guard.abort(new RunAbortedError('run interrupted'));
    hooks.signal?.addEventListener('abort', onAbort, { once: true });
    if (hooks.signal?.aborted) onAbort();
    outage.onGiveUp = (error) => guard.abort(error);
    const signal = guard.signal;
    try {
      await abortable(events.waitUntilReady(), signal);
      const scheduled = await abortable(this.enqueue(connections, plan, output), signal);
      for (const p of scheduled.problems ?? []) hooks.onRedo?.({ stage: scheduled.stage === 'project' ? 'project' : 'featurize', ...p });
      await monitor.begin(scheduled);
      metrics?.start();
      let missing = 0;
      for (;;) {
        const state = await abortable(this.check(connections, plan, output, monitor), signal);
        outage.ok();
        if (state.manifest) return state.manifest;
        // Neither of the run's parent jobs exists: Redis lost them (flushed, or restarted without persistence).
        // Storage still says what is done, so queue the rest again.
        missing = state.jobsMissing ? missing + 1 : 0;
        if (missing >= 3) {
          this.options.log?.(`the run's jobs are gone from Redis: queueing the remaining work again`);
          await monitor.begin(await this.enqueue(connections, plan, output));
          missing = 0;
        }
        await abortable(
          new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.options.pollMs ?? 500);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          }),
          signal,
        );
      }
    } finally {
      outage.stop();
      this.onRedisError = undefined;
      hooks.signal?.removeEventListener('abort', onAbort);
      metrics?.stop();
      await Promise.all([
        settleWithin(events.close(), 1000).then(async (closed) => {
          if (!closed) await settleWithin(events.disconnect(), 1000);
        }),
        this.disconnect(connections),
      ]);
    }
  }

  private async enqueue(connections: Connections, plan: Plan, output: Storage): Promise<ScheduleResult> {
    const published = await ModelBroadcast.publish(output, this.options.modelPath, plan.spec.model.sha256);
    if (published === 'uploaded') this.options.log?.(`model published for the workers: ${output.uri}/${ModelBroadcast.storageKey(plan.spec.model.sha256)}`);
    await RunClock.start(output);
    await connections.registry.register(plan);
    const started = performance.now();
    const scheduled = await connections.scheduler.schedule(plan, output, this.options.retry ?? DEFAULT_RETRY);
    if (scheduled.stage !== 'done') {
      // What bench:scale reads as the enqueue time (storage checks of resumePoint included).
      this.options.log?.(
        `queued ${scheduled.stage}: ${scheduled.shards.length} of ${plan.shards.length} shard(s) in ${scheduled.transactions ?? 0} Redis transaction(s), ${Math.round(performance.now() - started)} ms`,
      );
    }
    return scheduled;
  }

  private async check({ queue }: Connections, plan: Plan, output: Storage, monitor: RunMonitor): Promise<{ manifest?: Manifest; jobsMissing?: boolean }> {
    const { runId } = plan.spec;
    const [success, reduce, commit] = await Promise.all([
      output.exists(layout.success),
      queue.getJobState(jobId.reduce(runId)),
      queue.getJobState(jobId.commit(runId)),
    ]);
    // _SUCCESS comes before the commit removes _tmp/: wait for the commit job to end, so the output is final
    // when the coordinator exits (a commit whose worker died is redone, and returns at once).
    if (success && commit !== 'active') {
      await monitor.moveTo('commit');
      return { manifest: await readManifest(output) };
    }
    if (reduce === 'failed' || commit === 'failed') throw await this.failure(queue, plan, commit === 'failed' ? 'commit' : 'reduce');
    if (reduce === 'active') await monitor.moveTo('pca');
    if (commit !== 'unknown') await monitor.moveTo(commit === 'active' ? 'commit' : 'project');
    return { jobsMissing: reduce === 'unknown' && commit === 'unknown' };
  }

  /** The run's failure, told by the job that failed first: its shard, its stage, its attempts and its error. */
  private async failure(queue: Queue, plan: Plan, parent: 'reduce' | 'commit'): Promise<RunFailedError> {
    const { runId } = plan.spec;
    // With failParentOnFailure a parent's reason is "child fruits:shards:<job id> failed": followed down the
    // tree reduce (reduce ← merge ← … ← featurize) to the job that failed on its own.
    let failed: Job | undefined = await queue.getJob(jobId[parent](runId));
    for (let depth = 0; depth < 64; depth++) {
      const childKey = /child (\S+) failed/.exec(failed?.failedReason ?? '')?.[1];
      const child: Job | undefined = childKey ? await queue.getJob(childKey.split(':').pop()!) : undefined;
      if (!child) break;
      failed = child;
    }
    const id = parseJobId(failed?.id);
    const what = id?.shard !== undefined ? `shard ${id.shard} (${id.name})` : `the ${id?.name ?? parent} job`;
    const attempts = failed?.attemptsMade ?? 0;
    const reason = failed?.failedReason ?? 'unknown reason';
    return new RunFailedError(
      `run ${runId} failed: ${what} failed after ${attempts} attempt(s): ${reason}. ` +
        `Parts already written are kept; fix the cause, then \`fruits extract … --resume\` retries only what is missing.`,
      [{ stage: id?.name ?? parent, shard: id?.shard, attempts, reason }],
    );
  }

  private async connect(signal?: AbortSignal): Promise<Connections> {
    const connection = this.options.redis.options({ name: 'fruits-coordinator' });
    const queue = new Queue(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
    const flows = new FlowProducer({ connection, prefix: QUEUE_PREFIX });
    const redis = this.options.redis.redacted;
    const timeoutMs = this.redisTimeoutMs;
    const started = Date.now();
    let lastError = '';
    let refused: ((error: Error) => void) | undefined;
    const onError = (error: Error) => {
      lastError = error.message;
      // A wrong password is not an outage: retrying never helps.
      if (isAuthError(error)) refused?.(new RedisAuthError(`Redis at ${redis} refused the credentials: ${error.message}`, { cause: error }));
      else this.warn(error);
    };
    queue.on('error', onError);
    flows.on('error', onError);
    let timer: NodeJS.Timeout | undefined;
    let progress: NodeJS.Timeout | undefined;
    try {
      await abortable(
        Promise.race([
          Promise.all([queue.waitUntilReady(), flows.waitUntilReady()]).catch((error: Error) => {
            throw new RedisUnreachableError(`cannot reach Redis at ${redis}: ${error.message}`, { cause: error });
          }),
          new Promise((_, reject) => {
            refused = reject;
            timer = setTimeout(
              () =>
                reject(
                  new RedisUnreachableError(
                    `cannot reach Redis at ${redis} within ${formatSeconds(timeoutMs)}${lastError ? ` (last error: ${lastError})` : ''} (--redis-timeout)`,
                  ),
                ),
              timeoutMs,
            );
            progress = setInterval(
              () =>
                this.options.log?.(
                  `waiting for Redis at ${redis}: ${formatSeconds(Date.now() - started)} of ${formatSeconds(timeoutMs)}${lastError ? ` (${lastError})` : ''}`,
                ),
              10_000,
            );
          }),
        ]),
        signal,
      );
    } catch (error) {
      // Bounded: a disconnect can wait on a connection that never became ready.
      await settleWithin(Promise.all([queue.disconnect().catch(() => {}), flows.disconnect().catch(() => {})]), 1000);
      throw error;
    } finally {
      clearTimeout(timer);
      clearInterval(progress);
    }
    queue.off('error', onError);
    flows.off('error', onError);
    queue.on('error', this.warn);
    flows.on('error', this.warn);
    return { queue, flows, scheduler: new RunScheduler(queue, flows, this.options.queueLayout), registry: new RunRegistry(queue) };
  }

  private async disconnect({ queue, flows }: Connections): Promise<void> {
    // close() waits for Redis; an interrupted or abandoned run must not wait with it.
    await Promise.all(
      [queue, flows].map(async (q) => {
        if (!(await settleWithin(q.close(), 1000))) await settleWithin(q.disconnect(), 1000);
      }),
    );
  }

  /** Set while a run is watched: every connection error of the coordinator counts towards the outage. */
  private onRedisError: ((error: Error) => void) | undefined;

  /** Connection errors repeat on every reconnection attempt: one line per distinct error every 10 s. */
  private readonly lastWarning = new Map<string, number>();
  private readonly warn = (error: Error): void => {
    this.onRedisError?.(error);
    const now = Date.now();
    if (now - (this.lastWarning.get(error.message) ?? 0) < 10_000) return;
    this.lastWarning.set(error.message, now);
    this.options.log?.(`redis ${this.options.redis.redacted}: ${error.message} (reconnecting)`);
  };
}

/** Waits for `promise` unless the run is interrupted first (Redis commands wait out outages, Ctrl-C must not). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  // The reason says why: an interrupt (RunAbortedError) or Redis gone for longer than --redis-timeout.
  const why = () => (signal.reason instanceof RedisUnreachableError ? signal.reason : new RunAbortedError('run interrupted'));
  if (signal.aborted) return Promise.reject(why());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(why());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export const DEFAULT_REDIS_TIMEOUT_MS = 120_000;

/**
 * Counts how long Redis has been failing since the coordinator's last successful round trip, reports it every
 * 10 s, and gives up after the timeout with an error naming the address and the command that re-attaches.
 */
class OutageWatch {
  onGiveUp: (error: Error) => void = () => {};
  private since: number | undefined;
  private lastError = '';
  private readonly timer: NodeJS.Timeout;
  private reported = 0;

  constructor(
    private readonly redis: string,
    private readonly timeoutMs: number,
    private readonly resume: string,
    private readonly log: (line: string) => void,
  ) {
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  error(error: Error): void {
    this.lastError = error.message;
    this.since ??= Date.now();
  }

  ok(): void {
    if (this.since !== undefined && this.reported > 0) this.log(`Redis at ${this.redis} is back after ${formatSeconds(Date.now() - this.since)}`);
    this.since = undefined;
    this.reported = 0;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    if (this.since === undefined) return;
    const down = Date.now() - this.since;
    if (down >= this.timeoutMs) {
      this.stop();
      this.onGiveUp(
        new RedisUnreachableError(
          `Redis at ${this.redis} unreachable for ${formatSeconds(down)} (${this.lastError}); giving up (--redis-timeout). ` +
            `The run is not finished; its queued shards wait in Redis. When Redis is back: ${this.resume}`,
        ),
      );
    } else if (down >= (this.reported + 1) * 10_000) {
      this.reported++;
      this.log(`Redis at ${this.redis} unreachable for ${formatSeconds(down)} (${this.lastError}); giving up after ${formatSeconds(this.timeoutMs)}`);
    }
  }
}

function formatSeconds(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 100) / 10} s`;
}

/** True when `promise` settled within `ms`. */
function settleWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => (clearTimeout(timer), resolve(true)),
      () => (clearTimeout(timer), resolve(true)),
    );
  });
}
