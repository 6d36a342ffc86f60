import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import {
  BullmqEngine,
  DEFAULT_METRICS_INTERVAL_MS,
  DEFAULT_QUEUE_LAYOUT,
  DEFAULT_RETRY,
  DEFAULT_RUN_OPTIONS,
  isPowerOfTwo,
  isS3Uri,
  LocalEngine,
  LogSink,
  MAX_REDUCE_FAN_IN,
  parseLabelRule,
  prepareExtract,
  RedisTarget,
  RunAbortedError,
  runExtract,
  type InputFormat,
  type QueueLayout,
  type RunOptions,
} from '../../index.js';
import { describeVerified } from '../verification.js';
import { UsageError, type Command } from '../command.js';
import { defineOptions } from '../option-table.js';
import { EXIT } from '../exit-codes.js';
import { fractionOption, intOption } from '../options.js';
import { ModelProgressReporter, ProgressReporter } from '../progress.js';
import { counted, formatSummary } from '../summary.js';

const DISTRIBUTED = 'Distributed runs (docs/distributed.md):';

const OPTIONS = defineOptions({
  model: { type: 'string', value: 'PATH', help: 'ONNX model file or folder (default: FRUITS_MODEL, FRUITS_MODEL_DIR, then the cache)' },
  workers: { type: 'string', value: 'N', help: `pipeline threads (default: one per core = ${availableParallelism()})` },
  threads: { type: 'string', value: 'N', help: 'onnxruntime threads per pipeline thread (default 1)' },
  'batch-size': { type: 'string', value: 'N', help: `images per model call (default ${DEFAULT_RUN_OPTIONS.batchSize})` },
  'shard-size': { type: 'string', value: 'N', help: `images per shard = per output part (default ${DEFAULT_RUN_OPTIONS.shardSize})` },
  'pca-variance': { type: 'string', value: 'F', help: 'keep the fewest components explaining this fraction of variance (default 0.95)' },
  'pca-k': { type: 'string', value: 'N', help: 'keep exactly N components (instead of --pca-variance)' },
  glob: { type: 'string', value: 'PATTERN', help: "which files are images, e.g. '**/*.jpg' (default: jpg, jpeg, png, webp, any case)" },
  'label-from': {
    type: 'string',
    value: 'RULE',
    help: [
      "parent (default: the image's folder), first (first folder under input),",
      'none, or regex:<pattern with one capture group on the relative path>; for tar members',
      'and table rows it applies to the member name or row path when no .cls/.json/label gives one',
    ],
  },
  'input-format': {
    type: 'string',
    value: 'F',
    help: ['auto (default: image files if any, else .tar files, else .parquet files), files, tar', 'or parquet'],
  },
  'max-pixels': { type: 'string', value: 'N', help: `refuse images with more pixels (decompression bombs; default ${DEFAULT_RUN_OPTIONS.maxPixels})` },
  resume: {
    type: 'boolean',
    help: [
      'finish an interrupted run in <output>: only shards whose parts are missing or do not',
      'read back are redone; a finished run is verified (fruits inspect --verify) and its',
      'missing or damaged shards redone, then committed again',
    ],
  },
  overwrite: { type: 'boolean', help: 'replace the run in <output> (only files fruits wrote are removed)' },
  'fail-on-error': { type: 'boolean', help: 'exit 1 when any image failed (default: exit 0 and report the count)' },
  quiet: { type: 'boolean', help: 'no progress output' },
  json: { type: 'boolean', help: 'print the manifest as JSON at the end instead of the summary' },
  engine: {
    type: 'string',
    value: 'NAME',
    default: 'local',
    section: DISTRIBUTED,
    help: [
      'local (default): threads on this machine; bullmq: this process is the coordinator, the',
      'shards go through Redis to `fruits worker` processes on any number of machines',
      '(<input> and <output> must be reachable from every worker: s3://… or a shared folder)',
    ],
  },
  redis: {
    type: 'string',
    value: 'URL',
    section: DISTRIBUTED,
    help: ["bullmq: the queue's Redis, redis://[:PASSWORD@]host[:port][/db] or rediss:// (TLS)", '(default: FRUITS_REDIS_URL); the password is never printed'],
  },
  detach: {
    type: 'boolean',
    section: DISTRIBUTED,
    help: ['bullmq: queue the run, print its id and exit 0; the workers finish it', '(`fruits status RUN_ID` follows it)'],
  },
  attempts: { type: 'string', value: 'N', section: DISTRIBUTED, help: `bullmq: tries of each job before the run fails (default ${DEFAULT_RETRY.attempts})` },
  'backoff-ms': {
    type: 'string',
    value: 'N',
    section: DISTRIBUTED,
    help: `bullmq: wait before the 2nd try, doubled for each further one (default ${DEFAULT_RETRY.backoffMs})`,
  },
  'redis-timeout': {
    type: 'string',
    value: 'T',
    section: DISTRIBUTED,
    help: [
      'bullmq: how long to wait for an unreachable Redis (at start or mid-run) before exiting 1',
      'with the command that re-attaches (default 2m; e.g. 30s, 5m); reported every 10 s',
    ],
  },
  'reduce-fan-in': {
    type: 'string',
    value: 'N',
    section: DISTRIBUTED,
    help: [
      "bullmq: merge the shards' moments in a tree of this fan-in (a power of two; default",
      `${DEFAULT_QUEUE_LAYOUT.fanIn}): no job reads more than N moments files, the merges run on every worker`,
      "during featurize; the PCA is the same to the bit whatever N (and as the local engine's)",
    ],
  },
  'enqueue-batch': {
    type: 'string',
    value: 'N',
    section: DISTRIBUTED,
    help: `bullmq: shard jobs per Redis transaction when queueing (default ${DEFAULT_QUEUE_LAYOUT.enqueueBatch})`,
  },
  'run-id': {
    type: 'string',
    value: 'RUN_ID',
    section: DISTRIBUTED,
    help: [
      'bullmq, with --resume: the run to resume, instead of <input> <output>; its input, output',
      "and options come from the queue's record and the run's plan (same as --resume RUN_ID)",
    ],
  },
});

const HELP = `Usage: fruits extract <input> <output> [options]
       fruits extract --resume RUN_ID --engine bullmq [--redis URL]

Featurizes every image under <input> with MobileNetV2 (ImageNet weights, 1280-d pooled features), fits a PCA on
all features, and writes Parquet. <input> is one of (docs/distributed.md, "Input formats"):
  a folder or s3://bucket/prefix with one sub-folder per class (one file per image; class folders listed in parallel)
  WebDataset tar shards: a folder or prefix of .tar files, s3://bucket/train-{00000..00999}.tar, or one .tar
                         (members key.jpg|png|webp, label from key.cls or key.json {"label": …}; paths tar/member)
  Parquet image tables: a folder or prefix of .parquet files, or one (columns path or key, label, bytes; also the
                         Hugging Face image layout and Spark's binaryFile layout)
Output:
  <output>/features/part-*.parquet   path, label, width, height, bytes, features (list<float32>[1280])
  <output>/results/part-*.parquet    path, label, pca (list<float32>[k])
  <output>/pca/model.json            mean, components, explained variance
  <output>/errors/part-*.parquet     path, stage, message of every input that failed (the run goes on)
  <output>/manifest.json, _SUCCESS   written last; a folder without _SUCCESS is an unfinished run

${OPTIONS.help()}
  The coordinator prints a CloudWatch EMF line (Fruits/PendingShards{Queue=shards}) every
  FRUITS_METRICS_INTERVAL_MS (default ${DEFAULT_METRICS_INTERVAL_MS}; 0 = never) on stdout (on stderr with --json).
  Interrupting the coordinator leaves the queued work to the workers; --resume re-attaches to the run.

Exit codes: 0 done, 1 failed (or --fail-on-error with failed images), 2 bad usage, 3 input not found or empty,
4 no usable model, 5 the output holds another run or other files, 130 interrupted (the table: fruits --help).
`;

/** The options of the distributed section but --engine itself: each needs --engine bullmq (one list, the declarations). */
const BULLMQ_ONLY = Object.entries(OPTIONS.declarations)
  .filter(([name, d]) => 'section' in d && d.section === DISTRIBUTED && name !== 'engine')
  .map(([name]) => name);

export const extractCommand: Command = {
  name: 'extract',
  summary: 'images → MobileNetV2 features → PCA → Parquet (local threads, or workers via Redis)',
  help: HELP,
  options: [OPTIONS],
  async run(argv) {
    const { values, positionals } = OPTIONS.parse(argv);
    if (values.engine !== 'local' && values.engine !== 'bullmq') throw new UsageError(`--engine must be local or bullmq, not "${values.engine}"`);
    const distributed = values.engine === 'bullmq' ? BullmqCoordinatorOptions.parse(values, positionals) : undefined;
    if (!distributed && positionals.length !== 2) throw new UsageError('expected <input> and <output>');
    const given = values as Record<string, unknown>;
    const bullmqOnly = BULLMQ_ONLY.filter((o) => given[o] !== undefined && given[o] !== false);
    if (!distributed && bullmqOnly.length > 0) throw new UsageError(`--${bullmqOnly[0]} needs --engine bullmq`);
    let [inputUri, outputUri] = positionals;
    if (values.resume && values.overwrite) throw new UsageError('--resume and --overwrite exclude each other');
    if (values['pca-k'] && values['pca-variance']) throw new UsageError('give --pca-k or --pca-variance, not both');
    // A LabelRuleError is an InvalidOptionError: main.ts reports it as bad usage (exit 2).
    const labelFrom = parseLabelRule(values['label-from'] ?? 'parent');
    const options: RunOptions = {
      ...DEFAULT_RUN_OPTIONS,
      shardSize: intOption('shard-size', values['shard-size'], DEFAULT_RUN_OPTIONS.shardSize),
      batchSize: intOption('batch-size', values['batch-size'], DEFAULT_RUN_OPTIONS.batchSize),
      pca: values['pca-k'] ? { k: intOption('pca-k', values['pca-k'], 0) } : { variance: fractionOption('pca-variance', values['pca-variance']) ?? 0.95 },
      glob: values.glob,
      labelFrom,
      maxPixels: intOption('max-pixels', values['max-pixels'], DEFAULT_RUN_OPTIONS.maxPixels),
    };
    const inputFormat = values['input-format'] ?? 'auto';
    if (!(['auto', 'files', 'tar', 'parquet'] as const).includes(inputFormat as InputFormat)) {
      throw new UsageError(`--input-format must be auto, files, tar or parquet, not "${inputFormat}"`);
    }
    // Only when given: a run without it keeps the fingerprint it had before the option existed.
    if (inputFormat !== 'auto') options.inputFormat = inputFormat as InputFormat;
    const workers = intOption('workers', values.workers, availableParallelism());
    const threads = intOption('threads', values.threads, 1);
    // A coordinator waits on Redis in many places: an interrupt must end it at once in every one of them.
    const controller = new AbortController();
    if (distributed) installInterrupt(controller, values.quiet);
    if (distributed) {
      const engine = await distributed.engine('', process.stderr);
      // Before anything is read or written: a wrong password or an unreachable Redis leaves the output untouched.
      await engine.probe(controller.signal);
      if (distributed.runId) {
        // --resume RUN_ID: the run's own input, output and options, so the fingerprint check passes.
        const found = await engine.findRun(distributed.runId);
        [inputUri, outputUri] = [found.input, found.output];
        Object.assign(options, found.options);
      }
      // Workers on other machines resolve relative paths against their own working folder.
      [inputUri, outputUri] = [inputUri, outputUri].map(absoluteUri);
    }

    // The library checks input and output first (cheap, nothing written), then opens the model once, then plans:
    // a wrong path is reported as such, and a missing or corrupt model stops the run with nothing written.
    const modelProgress = new ModelProgressReporter(process.stderr, values.quiet);
    const planning = new ProgressReporter(process.stderr, values.quiet);
    const log = (line: string) => values.quiet || process.stderr.write(`${line}\n`);
    const prepared = await prepareExtract({
      input: inputUri,
      output: outputUri,
      model: values.model,
      options,
      resume: values.resume,
      overwrite: values.overwrite,
      // The model's progress line ends when the model is ready, the plan's when the plan is.
      onModelProgress: modelProgress.handle,
      onPlanProgress: (event) => {
        modelProgress.end();
        planning.plan(event);
      },
    }).finally(() => {
      modelProgress.end();
      planning.planned();
    });
    const { output, model: located } = prepared;
    if (prepared.state === 'complete') {
      log(`${output.uri} already holds this finished run (${prepared.manifest.runId}), ${describeVerified(prepared.verification)}; nothing to do.`);
      process.stdout.write(values.json ? `${JSON.stringify(prepared.manifest, null, 2)}\n` : formatSummary(prepared.manifest));
      return 0;
    }
    const { plan } = prepared;
    if (prepared.repaired) {
      const { repaired } = prepared;
      log(`the finished run ${plan.spec.runId} fails verification: ${repaired.length} part(s) missing or damaged, redone now:`);
      for (const p of repaired.slice(0, 10)) log(`  ${p.key} ${p.problem}`);
      if (repaired.length > 10) log(`  … and ${repaired.length - 10} more`);
    }
    log(
      `${prepared.resumed ? 'resuming' : 'starting'} run ${plan.spec.runId}: ${plan.images} images, ${plan.classes.length} classes, ` +
        `${counted(plan.shards.length, 'shard')} of ${options.shardSize}; model ${located.path} (${located.source}); ` +
        (distributed ? `engine bullmq on ${distributed.redis.redacted}` : counted(workers, 'thread')),
    );
    if ('k' in options.pca && options.pca.k >= plan.images) {
      log(`note: --pca-k ${options.pca.k} with ${plan.images} images: at most ${Math.max(plan.images - 1, 0)} components carry variance; the others are zero`);
    }
    if (distributed && values.detach) {
      const scheduled = await (await distributed.engine(located.path, process.stderr, values.quiet)).submit(plan);
      log(`queued: ${scheduled.shards.length} ${scheduled.stage} job(s); the workers finish the run (fruits status ${plan.spec.runId})`);
      process.stdout.write(values.json ? `${JSON.stringify({ runId: plan.spec.runId, output: plan.spec.output, ...scheduled })}\n` : `${plan.spec.runId}\n`);
      return 0;
    }

    const onSignal = () => {
      log(
        distributed
          ? '\ninterrupted: the coordinator stops; the workers go on with the queued shards (fruits status), --resume re-attaches'
          : '\ninterrupted: stopping (parts already written are kept; rerun with --resume to finish)',
      );
      controller.abort();
    };
    if (!distributed) {
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    }
    const progress = new ProgressReporter(process.stderr, values.quiet);
    try {
      const engine = distributed
        ? await distributed.engine(located.path, values.json ? process.stderr : process.stdout, values.quiet)
        : new LocalEngine({ modelPath: located.path, workers, threads });
      // Exit 0 means a finished run, which only _SUCCESS says: runExtract checks it.
      const manifest = await runExtract(prepared, engine, { onEvent: progress.handle, onRedo: progress.redo, signal: controller.signal });
      progress.end();
      process.stdout.write(values.json ? `${JSON.stringify(manifest, null, 2)}\n` : formatSummary(manifest));
      if (manifest.counts.errors > 0) {
        log(`${manifest.counts.errors} image(s) failed and are listed in ${output.uri}/errors/`);
        if (values['fail-on-error']) return EXIT.failed;
      }
      return 0;
    } catch (error) {
      progress.end();
      if (error instanceof RunAbortedError) return EXIT.interrupted;
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

/** --engine bullmq: the coordinator's options, checked before anything runs. */
class BullmqCoordinatorOptions {
  private constructor(
    readonly redis: RedisTarget,
    readonly runId: string | undefined,
    private readonly attempts: number,
    private readonly backoffMs: number,
    private readonly redisTimeoutMs: number,
    private readonly queueLayout: QueueLayout,
  ) {}

  static parse(values: Record<string, string | boolean | undefined>, positionals: string[]): BullmqCoordinatorOptions {
    const redis = RedisTarget.fromOption(values.redis as string | undefined);
    if (!redis) throw new UsageError('--engine bullmq needs a Redis: give --redis redis://host:6379 or set FRUITS_REDIS_URL');
    if (values.workers !== undefined || values.threads !== undefined) {
      throw new UsageError('--workers and --threads size the local engine; with --engine bullmq, size the fleet of `fruits worker`s');
    }
    // `--resume RUN_ID`: --resume is a flag, so the id arrives as the one positional.
    const runId = (values['run-id'] as string | undefined) ?? (values.resume && positionals.length === 1 ? positionals[0] : undefined);
    if (runId !== undefined) {
      if (!values.resume) throw new UsageError('--run-id resumes a run: give --resume too');
      if (positionals.length !== (values['run-id'] !== undefined ? 0 : 1)) throw new UsageError('give either <input> <output> or a RUN_ID to resume, not both');
    } else if (positionals.length !== 2) {
      throw new UsageError('expected <input> and <output> (or --resume RUN_ID)');
    }
    return new BullmqCoordinatorOptions(
      redis,
      runId,
      intOption('attempts', values.attempts as string | undefined, DEFAULT_RETRY.attempts),
      intOption('backoff-ms', values['backoff-ms'] as string | undefined, DEFAULT_RETRY.backoffMs, 0),
      durationOption('redis-timeout', values['redis-timeout'] as string | undefined, 120_000),
      {
        fanIn: fanInOption(values['reduce-fan-in'] as string | undefined),
        enqueueBatch: intOption('enqueue-batch', values['enqueue-batch'] as string | undefined, DEFAULT_QUEUE_LAYOUT.enqueueBatch),
      },
    );
  }

  async engine(modelPath: string, metrics: NodeJS.WritableStream, quiet = false): Promise<BullmqEngine> {
    const interval = intOption('FRUITS_METRICS_INTERVAL_MS', process.env.FRUITS_METRICS_INTERVAL_MS, DEFAULT_METRICS_INTERVAL_MS, 0);
    return new BullmqEngine({
      redis: this.redis,
      modelPath,
      retry: { attempts: this.attempts, backoffMs: this.backoffMs },
      redisTimeoutMs: this.redisTimeoutMs,
      queueLayout: this.queueLayout,
      metricsSink: new LogSink(metrics),
      metricsIntervalMs: interval,
      log: (line) => quiet || process.stderr.write(`${line}\n`),
    });
  }
}

/**
 * The coordinator's Ctrl-C / SIGTERM: the run is aborted (nothing to clean up: the queued work stays for the
 * workers) and the process exits 130 within a second even if a Redis command or close is still waiting.
 */
function installInterrupt(controller: AbortController, quiet: boolean): void {
  const onSignal = () => {
    if (!quiet) process.stderr.write('\ninterrupted: the coordinator stops; the workers go on with the queued shards (fruits status), --resume re-attaches\n');
    controller.abort();
    setTimeout(() => process.exit(130), 1000).unref();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

/** `--reduce-fan-in`: a power of two from 2 to 2^20 (the merge order, and so the PCA's bits, depends on the tree). */
function fanInOption(text: string | undefined): number {
  const n = intOption('reduce-fan-in', text, DEFAULT_QUEUE_LAYOUT.fanIn);
  if (!isPowerOfTwo(n) || n < 2 || n > MAX_REDUCE_FAN_IN)
    throw new UsageError(`--reduce-fan-in must be a power of two from 2 to ${MAX_REDUCE_FAN_IN}, not ${text}`);
  return n;
}

/** `--redis-timeout`: 500ms, 30s, 2m, or plain seconds. */
function durationOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!match) throw new UsageError(`--${name} must be a duration such as 30s, 2m or 500ms, not "${value}"`);
  const ms = Number(match[1]) * (match[2] === 'ms' ? 1 : match[2] === 'm' ? 60_000 : 1000);
  if (ms <= 0) throw new UsageError(`--${name} must be more than 0`);
  return ms;
}

function absoluteUri(uri: string): string {
  return isS3Uri(uri) || /^[a-z][a-z0-9+.-]*:\/\//i.test(uri) ? uri : resolve(uri);
}
