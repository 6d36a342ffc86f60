import { networkInterfaces, availableParallelism } from 'node:os';
import { createApp, DEFAULT_LIMITS, DEFAULT_THRESHOLDS, type Method, openFruitDirectory, openStorage, startServer, ThreadedIdentifier } from '../../index.js';
import { UsageError, type Command } from '../command.js';
import { defineOptions } from '../option-table.js';
import { ListenError } from '../errors.js';
import { intOption, RUN_MODEL_OPTION, RUN_OPTION, runOption } from '../options.js';

const OPTIONS = defineOptions({
  run: RUN_OPTION,
  model: RUN_MODEL_OPTION,
  port: { type: 'string', value: 'N', help: 'TCP port (default: PORT, else 8080; 0 picks a free port)' },
  host: {
    type: 'string',
    value: 'ADDR',
    default: '0.0.0.0',
    help: ['address to listen on (default 0.0.0.0: reachable from a phone on the same network;', '127.0.0.1 for this machine only)'],
  },
  threads: {
    type: 'string',
    value: 'N',
    help: [
      `onnxruntime threads of the model session (default ${defaultThreads()}: half the cores; the`,
      'others decode photos and serve HTTP. On 2 cores, 1 thread gave p95 74 ms at 4 clients',
      'where 2 threads, spinning against the decoders, gave 177 ms)',
    ],
  },
  'max-upload-mb': {
    type: 'string',
    value: 'N',
    help: `largest photo accepted, in MB (default ${DEFAULT_LIMITS.maxUploadBytes / 1024 / 1024}); larger → 413`,
  },
  'max-pixels': {
    type: 'string',
    value: 'N',
    help: "decompression-bomb guard: refuse photos with more pixels (default: the run's, 50,000,000) → 422",
  },
  'rate-limit': {
    type: 'string',
    value: 'N',
    help: `photo requests per minute per client IP, burst N (default ${DEFAULT_LIMITS.rateLimitPerMinute}); 0 = no limit → 429`,
  },
  'trust-proxy': { type: 'boolean', help: 'take the client IP from X-Forwarded-For (only behind a proxy that sets it)' },
  queue: {
    type: 'string',
    value: 'N',
    help: [
      'photo requests admitted at once (default 200): uploading, decoding or waiting for the',
      'model; one more → 503 with Retry-After, refused before its upload is read and',
      'answered after a 1 s hold (so clients that retry at once wait on their connection)',
    ],
  },
  'feedback-max-mb': {
    type: 'string',
    value: 'N',
    help: [
      `size cap of <run>/feedback/ (default ${DEFAULT_LIMITS.feedbackMaxBytes / 1024 / 1024}); once full, corrections → 507. Photos`,
      'are stored once each (by sha256), at most 1024 px on their long side',
    ],
  },
  batch: { type: 'string', value: 'N', help: 'photos per model call at most (default 8)' },
  timeout: {
    type: 'string',
    value: 'S',
    help: `an identify request not answered after S seconds gets 503 (default ${DEFAULT_LIMITS.requestTimeoutMs / 1000})`,
  },
  method: { type: 'string', value: 'M', help: "probe (default) or knn: which classifier's top-5 the answer gives" },
  'min-score': {
    type: 'string',
    value: 'F',
    help: `"not sure" below this top score unless both methods agree (default ${DEFAULT_THRESHOLDS.minScore})`,
  },
  'max-ood': { type: 'string', value: 'F', help: `"not sure" beyond this out-of-distribution score (default ${DEFAULT_THRESHOLDS.maxOod})` },
  retrain: { type: 'boolean', help: 'train the classifier again instead of using <run>/classifier/probe.json' },
  quiet: { type: 'boolean', help: 'no access log (one line per request: method, path, status, ms; never IPs or photos)' },
});

const HELP = `Usage: fruits serve --run <run> [options]

Serves the fruit app: a mobile-first web page (French, with an English switch) where someone photographs a fruit
and learns what it is, and the HTTP API behind it:
  POST /api/identify    photo (multipart field "photo", or the raw body) → top-5, "not sure", fruit card
  POST /api/feedback    "wrong? this is the right fruit": stores photo + correction under <run>/feedback/
  GET  /api/fruits      the fruits and classes the run knows; GET /api/fruits/:id one fruit
  GET  /healthz         run id, model sha256; GET /openapi.json the API description
Photos are featurized exactly as \`fruits extract\` did the run's images (the model's sha256 must equal the
run's) and go through ONE model session: requests that arrive together are batched, up to --queue wait, more
get 503. The first start on a run trains its classifier (seconds) and caches it in <run>/classifier/probe.json.

${OPTIONS.help()}

Memory: on Linux (glibc), MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=262144 let
the RSS come back after a burst of uploads (the image's entrypoint sets them; without them it stays at the peak).

Stops cleanly on Ctrl-C / SIGTERM. Exit codes: 0 stopped, 1 could not
start (port), 2 bad usage, 3 no finished run at --run, 4 no usable model (the table: fruits --help).
`;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'the fruit app: web page + HTTP API (photo → fruit and its story)',
  help: HELP,
  options: [OPTIONS],
  async run(argv) {
    const { values, positionals } = OPTIONS.parse(argv);
    const runUri = runOption(values.run, positionals);
    const port = intOption('port', values.port ?? process.env.PORT, 8080, 0);
    const maxUploadMb = positiveNumberOption('max-upload-mb', values['max-upload-mb']) ?? DEFAULT_LIMITS.maxUploadBytes / 1024 / 1024;
    const rateLimitPerMinute = intOption('rate-limit', values['rate-limit'], DEFAULT_LIMITS.rateLimitPerMinute, 0);
    const requestTimeoutMs = (positiveNumberOption('timeout', values.timeout) ?? DEFAULT_LIMITS.requestTimeoutMs / 1000) * 1000;
    const method = methodOption(values.method);
    const log = (line: string) => process.stderr.write(`${line}\n`);

    const queue = intOption('queue', values.queue, 200);
    const feedbackMaxMb = positiveNumberOption('feedback-max-mb', values['feedback-max-mb']) ?? DEFAULT_LIMITS.feedbackMaxBytes / 1024 / 1024;
    const run = openStorage(runUri);
    // In its own thread: the model's synchronous runs must not hold up accepting connections (see identifier-thread.ts).
    const identifier = await ThreadedIdentifier.open({
      run: runUri,
      model: values.model,
      threads: intOption('threads', values.threads, defaultThreads()),
      maxPixels: values['max-pixels'] ? intOption('max-pixels', values['max-pixels'], 1) : undefined,
      maxWaiting: queue,
      maxBatch: intOption('batch', values.batch, 8),
      method,
      retrain: values.retrain,
      thresholds: {
        minScore: positiveNumberOption('min-score', values['min-score']) ?? DEFAULT_THRESHOLDS.minScore,
        maxOod: positiveNumberOption('max-ood', values['max-ood']) ?? DEFAULT_THRESHOLDS.maxOod,
      },
      log,
    });
    const app = createApp({
      identifier,
      directory: await openFruitDirectory(),
      feedback: run,
      feedbackMaxBytes: Math.round(feedbackMaxMb * 1024 * 1024),
      maxQueued: queue,
      maxUploadBytes: Math.round(maxUploadMb * 1024 * 1024),
      maxPixels: identifier.maxPixels,
      rateLimitPerMinute,
      requestTimeoutMs,
      trustProxy: values['trust-proxy'],
      log: values.quiet ? undefined : (e) => log(`${new Date().toISOString()} ${e.method} ${e.path} ${e.status} ${e.ms} ms`),
      version: process.env.npm_package_version,
    });
    let server;
    try {
      server = await startServer(app, { port, host: values.host, requestTimeoutMs });
    } catch (error) {
      await identifier.close();
      throw new ListenError(`cannot listen on ${values.host}:${port}: ${(error as Error).message}`, { cause: error });
    }
    log(
      `fruit app on ${server.url}  (run ${identifier.runId}: ${identifier.info.referenceRows} images, ${identifier.classes.length} classes; ` +
        `model sha256 ${identifier.modelSha256.slice(0, 12)}…; classifier ${identifier.info.classifierSource === 'cache' ? 'from cache' : 'trained now'})`,
    );
    if (values.host === '0.0.0.0') for (const address of lanAddresses()) log(`  on your network: http://${address}:${server.port}`);
    if (rateLimitPerMinute === 0) log('  rate limit: off');

    await new Promise<void>((resolve) => {
      const stop = () => {
        log('stopping…');
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
    await identifier.close();
    return 0;
  },
};

/** Half the cores for onnxruntime, the rest for decoding (libvips) and HTTP: see --threads in HELP. */
function defaultThreads(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

function lanAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i && i.family === 'IPv4' && !i.internal)
    .map((i) => i!.address);
}

export function methodOption(value: string | undefined): Method {
  if (value === undefined) return 'probe';
  if (value !== 'probe' && value !== 'knn') throw new UsageError(`--method must be probe or knn, not "${value}"`);
  return value;
}

export function positiveNumberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`--${name} must be a positive number, not "${value}"`);
  return n;
}
