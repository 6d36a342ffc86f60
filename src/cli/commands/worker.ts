import { AccessPolicy, DEFAULT_METRICS_INTERVAL_MS, RedisTarget, ShardWorker } from '../../index.js';
import { UsageError, type Command } from '../command.js';
import { defineOptions } from '../option-table.js';
import { intOption } from '../options.js';

const DEFAULT_GRACE_MS = 100_000;

const OPTIONS = defineOptions({
  redis: {
    type: 'string',
    value: 'URL',
    help: [
      "the queue's Redis: redis://[:PASSWORD@]host[:port][/db], rediss:// for TLS",
      '(default: FRUITS_REDIS_URL). Passwords are never printed (redis://:***@host).',
    ],
  },
  concurrency: {
    type: 'string',
    value: 'N',
    help: ['jobs this process runs at once (default 1); they share one model session, so', 'more than 1 mainly overlaps S3 transfers with inference'],
  },
  threads: {
    type: 'string',
    value: 'N',
    help: ['onnxruntime threads of the model session and PCA kernels (default 1); the PCA', 'fit of the reduce job uses every core regardless'],
  },
  allow: {
    type: 'string',
    value: 'PREFIX',
    multiple: true,
    help: [
      'accept only runs whose input and output roots lie under PREFIX (a folder or',
      's3://bucket/prefix); repeatable. Default: FRUITS_ALLOW (comma-separated), else the',
      'current directory only. Other jobs fail at once, without retry, naming the prefix',
      'to allow. `--allow /` accepts any local path (logged as a warning).',
    ],
  },
  'lock-ms': {
    type: 'string',
    value: 'N',
    help: [
      'lock on a job in hand, renewed every N/2 ms while it runs; the job of a worker',
      'that died is redone after about lock + stalled interval (default 30000)',
    ],
  },
  'stalled-ms': { type: 'string', value: 'N', help: 'how often this worker looks for jobs of dead workers (default 30000)' },
  'grace-ms': {
    type: 'string',
    value: 'N',
    help: [`on SIGTERM, how long to wait for the job in hand (default ${DEFAULT_GRACE_MS}, under the`, '120 s that ECS/Fargate gives a task)'],
  },
  'metrics-interval-ms': {
    type: 'string',
    value: 'N',
    help: [
      'CloudWatch EMF line (Fruits/PendingShards{Queue=shards}) on stdout every N ms,',
      `0 = never (default ${DEFAULT_METRICS_INTERVAL_MS}, or FRUITS_METRICS_INTERVAL_MS)`,
    ],
  },
  name: { type: 'string', value: 'NAME', help: "this worker's name in `fruits status` and in the logs (default host:pid)" },
});

const HELP = `Usage: fruits worker [options]

Runs the jobs of distributed runs (\`fruits extract --engine bullmq\`) from the Redis queue until stopped: every
stage (featurize, PCA reduce, project, commit) of any run, on this machine. Start one per machine — or several,
each with its share of the cores. The model is not needed here: each run's coordinator publishes it next to
the run's output, and the worker downloads it once per sha256 into <cache>/fruits/by-sha256/ and checks it.

SIGTERM or Ctrl-C stops taking jobs, finishes the job in hand (or, after --grace-ms, exits and leaves it to
another worker) and exits 0, whether or not Redis answers. A second signal exits at once. Redis refusing the
password (WRONGPASS/NOAUTH) stops the worker at once with exit code 1.

${OPTIONS.help()}

Output: JSON log lines (pino: run id, stage, shard, images, images/s) and EMF metric lines, on stdout.
Environment: FRUITS_REDIS_URL, FRUITS_ALLOW (e.g. s3://my-bucket/runs,/data), FRUITS_LOG_LEVEL (default info),
XDG_CACHE_HOME (model cache), AWS_REGION / AWS_ENDPOINT_URL / credentials for s3:// storage.
Exit codes: 0 stopped by a signal, 1 cannot start (or Redis refused the credentials), 2 bad usage.
`;

export const workerCommand: Command = {
  name: 'worker',
  summary: 'run shard jobs of distributed runs from the Redis queue (BullMQ)',
  help: HELP,
  options: [OPTIONS],
  async run(argv) {
    const { values, positionals } = OPTIONS.parse(argv);
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    const redis = RedisTarget.fromOption(values.redis);
    if (!redis) throw new UsageError('no Redis: give --redis redis://host:6379 or set FRUITS_REDIS_URL');
    const lockMs = intOption('lock-ms', values['lock-ms'], 30_000, 100);
    const graceMs = intOption('grace-ms', values['grace-ms'], DEFAULT_GRACE_MS, 0);
    let fatal: ((error: Error) => void) | undefined;
    const worker = ShardWorker.start({
      redis,
      concurrency: intOption('concurrency', values.concurrency, 1),
      threads: intOption('threads', values.threads, 1),
      // Never "anything" by default: a crafted job could otherwise read /etc (issue 10, item 3).
      allow: AccessPolicy.resolve(values.allow, process.env.FRUITS_ALLOW, process.cwd()),
      lockMs,
      stalledMs: intOption('stalled-ms', values['stalled-ms'], 30_000, 100),
      metricsIntervalMs: intOption(
        'metrics-interval-ms',
        values['metrics-interval-ms'] ?? process.env.FRUITS_METRICS_INTERVAL_MS,
        DEFAULT_METRICS_INTERVAL_MS,
        0,
      ),
      name: values.name,
      onFatal: (error) => fatal?.(error),
    });

    // Every way out ends the process: BullMQ's close waits for Redis, which may never answer (stopped, wrong
    // password), and ECS, Kubernetes and compose expect an exit after SIGTERM. Jobs abandoned on the way are
    // redone by another worker once their lock expires (BullMQ's stalled-job recovery).
    const exit = (code: number): never => process.exit(code);
    const code = await new Promise<number>((resolve) => {
      fatal = (error) => {
        worker.log.fatal({ error: error.message }, 'cannot run: Redis refused the credentials');
        process.stderr.write(`fruits worker: ${error.name}: ${error.message}\n`);
        void bounded(worker.close(true), 1000).then(() => exit(1));
      };
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          worker.log.warn({ signal }, 'second signal: exiting now, the jobs in hand go back to the queue');
          exit(0);
        }
        stopping = true;
        // Nothing in hand: nothing to wait for but Redis, and only briefly.
        const wait = worker.jobsInHand === 0 ? Math.min(graceMs, 2000) : graceMs;
        worker.log.info({ signal, graceMs: wait, jobsInHand: worker.jobsInHand }, 'stopping: finishing the jobs in hand');
        void bounded(worker.close(false), wait).then((closed) => {
          if (!closed) worker.log.warn({ graceMs: wait }, 'grace period over: exiting, the jobs in hand go back to the queue');
          resolve(0);
        });
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
    worker.log.info('worker stopped');
    // Leftover handles (a reconnect timer, onnxruntime's thread pool) must not keep a stopped worker alive.
    setTimeout(() => exit(code), 200).unref();
    return code;
  },
};

/** True when `promise` settled within `ms`, false when the time ran out first. */
function bounded(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => (clearTimeout(timer), resolve(true)),
      () => (clearTimeout(timer), resolve(true)),
    );
  });
}
