/**
 * fruits as a library: what `import … from 'fruits'` gives a TypeScript or JavaScript program. The `fruits` CLI
 * is built on this module only (a dependency rule checks it), so everything the CLI does a program can do too.
 *
 * Entry points:
 * - {@link extract}: images → MobileNetV2 features → PCA → Parquet, as `fruits extract` (with {@link prepareExtract}
 *   and {@link runExtract} for a caller that reports the plan before running it);
 * - engines: {@link LocalEngine} (worker threads) and {@link BullmqEngine} (coordinator over Redis), with
 *   {@link ShardWorker} for the machines that do the work;
 * - {@link openStorage}: local folders and `s3://` prefixes behind one {@link Storage} interface;
 * - {@link readRunStatus}, {@link verifyRun}: read a run back and check its parts;
 * - {@link Identifier} and {@link createApp}: identify a photo against a run, or serve the fruit app over HTTP;
 * - the errors: every one a {@link FruitsError} with a stable `code` and the `cause` it wraps.
 *
 * @example
 * ```ts
 * import { extract } from 'fruits';
 * const manifest = await extract({ input: './photos', output: './run' });
 * console.log(`${manifest.counts.features} images, run ${manifest.runId}`);
 * ```
 *
 * @packageDocumentation
 */

// ── extract: the use case ────────────────────────────────────────────────────────────────────────────────────────
/** Run, plan or prepare an extraction; see each function's examples. */
export {
  extract,
  prepareExtract,
  resolveModel,
  runExtract,
  type ExtractOptions,
  type PrepareExtractOptions,
  type PreparedExtract,
  type ReadyExtract,
  type ResolvedModel,
} from './api/extract.js';

// ── run options and run files ────────────────────────────────────────────────────────────────────────────────────
/** The options of a run (shard size, batch size, PCA choice, glob, label rule…) and their defaults. */
export { DEFAULT_RUN_OPTIONS, type InputFormat, type RunOptions, type RunSpec } from './dataset/run-spec.js';
/** A run's `manifest.json`: run id, model sha256, counts, parts, errors, timings. */
export type { Manifest } from './dataset/manifest.js';
/** A run's plan: its spec, classes and shards. */
export type { Plan } from './dataset/plan.js';
/** A part that is missing or does not read back. */
export type { PartProblem } from './dataset/part-record.js';
/**
 * Reads the state of a run folder: finished (with its manifest), unfinished, or no run.
 *
 * @example
 * ```ts
 * import { openStorage, readRunStatus } from 'fruits';
 * const status = await readRunStatus(openStorage('./run'));
 * if (status.state === 'complete') console.log(status.manifest.counts);
 * ```
 */
export { readRunStatus, type RunStatus } from './dataset/read-run.js';
/**
 * A run's JSON files, read with their schema checked (a RunFileError names the file and the field) and written as
 * fruits writes them.
 *
 * @example
 * ```ts
 * import { openStorage, readManifest } from 'fruits';
 * const manifest = await readManifest(openStorage('./run'));
 * console.log(manifest.counts.features, manifest.pca.k);
 * ```
 */
export { readManifest, readMarker, readPlan, writeManifest, writeMarker, writePlan } from './dataset/run-files.js';
/** What featurize recorded of one shard (`_tmp/featurized/part-NNNNN.json`). */
export type { FeaturizeResult, ShardTimings } from './dataset/featurize-marker.js';
/**
 * Checks every part a finished run lists (row counts, readable Parquet): what `fruits inspect --verify` reports.
 *
 * @example
 * ```ts
 * import { openStorage, readRunStatus, verifyRun } from 'fruits';
 * const run = openStorage('./run');
 * const status = await readRunStatus(run);
 * if (status.state === 'complete') console.log((await verifyRun(run, status.manifest)).problems);
 * ```
 */
export { listedProblems, verifyRun, type Verification } from './pipeline/verify-run.js';
/** Parses a label rule as `--label-from` takes it: parent, first, none or regex:<pattern>. */
export { parseLabelRule } from './pipeline/labels.js';
/** Listing and indexing progress while a plan is made. */
export type { PlanProgress } from './pipeline/plan-progress.js';
/**
 * Packs image files into WebDataset tar shards, as `fruits pack` does.
 *
 * @example
 * ```ts
 * import { openStorage, packImages, parseLabelRule } from 'fruits';
 * await packImages(openStorage('./photos'), openStorage('./shards'), { format: 'tar', labelFrom: parseLabelRule('parent') });
 * ```
 */
export { DEFAULT_IMAGES_PER_FILE, packImages, type PackOptions, type PackResult } from './pipeline/pack.js';

// ── storage ──────────────────────────────────────────────────────────────────────────────────────────────────────
/**
 * Opens a local folder or an `s3://bucket/prefix` as a {@link Storage}.
 *
 * @example
 * ```ts
 * import { openStorage } from 'fruits';
 * const run = openStorage('s3://my-bucket/runs/2026-12');
 * console.log(await run.exists('_SUCCESS'));
 * ```
 */
export { isS3Uri, openStorage } from './storage/open-storage.js';
/** The one storage interface: list, read, atomic write, exists, delete. */
export type { Storage, StorageEntry } from './storage/storage.js';

// ── engines ──────────────────────────────────────────────────────────────────────────────────────────────────────
/** What every engine implements, and the events a run reports. */
export { RunAbortedError, type Engine, type Redo, type RunEvent, type RunHooks, type Stage } from './engine/engine.js';
/**
 * The embedded engine: worker threads on this machine, each with its own model session.
 *
 * @example
 * ```ts
 * import { LocalEngine, prepareExtract, runExtract } from 'fruits';
 * const prepared = await prepareExtract({ input: './photos', output: './run' });
 * if (prepared.state === 'ready') await runExtract(prepared, new LocalEngine({ modelPath: prepared.model.path, workers: 4 }));
 * ```
 */
export { LocalEngine, type LocalEngineOptions } from './engine/local/local-engine.js';
/**
 * The distributed engine's coordinator: queues the shards in Redis for {@link ShardWorker}s on any machines.
 *
 * @example
 * ```ts
 * import { BullmqEngine, extract, RedisTarget } from 'fruits';
 * const redis = RedisTarget.fromOption('redis://queue:6379')!;
 * await extract({ input: 's3://b/photos', output: 's3://b/run', engine: (model) => new BullmqEngine({ redis, modelPath: model.path }) });
 * ```
 */
export { BullmqEngine, DEFAULT_REDIS_TIMEOUT_MS, type BullmqEngineOptions } from './engine/bullmq/bullmq-engine.js';
/**
 * A worker of the distributed engine: takes shard jobs from Redis until closed.
 *
 * @example
 * ```ts
 * import { RedisTarget, ShardWorker } from 'fruits';
 * const worker = ShardWorker.start({ redis: RedisTarget.fromOption('redis://queue:6379')!, allow: ['s3://my-bucket/'] });
 * process.once('SIGTERM', () => void worker.close());
 * ```
 */
export { ShardWorker, type ShardWorkerOptions } from './engine/bullmq/shard-worker.js';
/** A Redis address (redis:// or rediss://) whose password is never printed. */
export { RedisTarget, redactSecrets } from './engine/bullmq/connection.js';
/** Which storage URIs a worker may read and write (`--allow`, `FRUITS_ALLOW`). */
export { AccessPolicy, type AllowSource } from './engine/bullmq/access-policy.js';
/** The queue's names, job ids, retry policy and reduce-tree layout (docs/distributed.md, "Queue contract"). */
export {
  DEFAULT_QUEUE_LAYOUT,
  DEFAULT_RETRY,
  MAX_REDUCE_FAN_IN,
  QUEUE_NAME,
  QUEUE_PREFIX,
  type QueueLayout,
  type RetryPolicy,
} from './engine/bullmq/queue-contract.js';
/** The queue's runs and workers, as `fruits status` shows them. */
export { QueueStatus, type QueueReport, type RunReport, type RunState, type WorkerReport } from './engine/bullmq/queue-status.js';
/** The runs the queue knows (input, output, options), for `--resume RUN_ID` and `fruits status`. */
export { RunRegistry, type RunRecord } from './engine/bullmq/run-registry.js';
/** The bull-board dashboard over the queue (`fruits status --dashboard`). */
export { QueueDashboard } from './engine/bullmq/queue-dashboard.js';
/** CloudWatch EMF metric lines (pending shards) and the sink that prints them. */
export { DEFAULT_METRICS_INTERVAL_MS } from './engine/bullmq/emf-metrics.js';
/** Writes metric lines to a stream. */
export { LogSink } from './engine/bullmq/log-sink.js';
/** `--reduce-fan-in` must be a power of two. */
export { isPowerOfTwo } from './pca/moments-tree.js';

// ── model ────────────────────────────────────────────────────────────────────────────────────────────────────────
/** Finding the model: `--model`, `FRUITS_MODEL`, `FRUITS_MODEL_DIR`, then the cache. */
export { BUILT_MODEL_FILE, locateModel, modelCacheDir, type LocatedModel } from './model/locate.js';
/**
 * Fetching, building and verifying the official weights into the cache, as `fruits model fetch` does.
 *
 * @example
 * ```ts
 * import { ensureModel } from 'fruits';
 * const model = await ensureModel({ onProgress: (p) => console.error(p.phase, p.done, p.total) });
 * ```
 */
export {
  ensureModel,
  fetchModel,
  findBuiltModel,
  KERAS_WEIGHTS_FULL,
  KERAS_WEIGHTS_NO_TOP,
  weightsBaseUrl,
  type EnsureModelOptions,
  type FetchResult,
  type ProvisionProgress,
  type PublishedWeightsFile,
} from './model/provision/index.js';
/** Building an ONNX model from the Keras weights (`fruits model build`). */
export { buildModel, type BuildModelOptions, type BuiltModel } from './model/builder/build-model.js';
/** The JSON sidecar beside a built model: its provenance and checks. */
export { readSidecar, sidecarPath, type ModelSidecar } from './model/builder/sidecar.js';
/** Verifying a model against its golden features (`fruits model info`). */
export { describeChecks, findReferenceInput, verifyModel, type VerificationReport } from './model/builder/verify.js';
/** The model files fruits knows by name (preprocessing, layout). */
export { knownModelByFile, type KnownModel } from './model/known-models.js';
/** The sha256 of a file, as recorded in a run's manifest. */
export { sha256File } from './model/sha256.js';
/** Opens an ONNX model as a 1280-d feature extractor. */
export { FeatureExtractor, type ModelInfo } from './model/feature-extractor.js';

// ── classifier and app ───────────────────────────────────────────────────────────────────────────────────────────
/**
 * Identifies photos against a finished run (kNN or the trained probe, with "not sure").
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * import { Identifier, openStorage } from 'fruits';
 * const identifier = await Identifier.open({ run: openStorage('./run') });
 * const { predictions } = await identifier.identify(await readFile('apple.jpg'));
 * ```
 */
export { Identifier, type Identification, type IdentifierOptions, type Method, type Prediction } from './classifier/identifier.js';
/** The thresholds of the "not sure" decision. */
export { DEFAULT_THRESHOLDS, type DecisionThresholds } from './classifier/decision.js';
/** Cross-validation on a run's references and evaluation on labelled photos (`fruits evaluate`). */
export {
  crossValidate,
  evaluatePhotos,
  parseLabels,
  type CrossValidation,
  type CrossValidationOptions,
  type LabelledPhoto,
  type PhotoEvaluation,
  type Space,
} from './classifier/evaluation.js';
/** A run's features as the classifier's reference set. */
export { loadReferenceSet, type ReferenceSet } from './classifier/reference-set.js';
/**
 * Trains the app's classifier on a run (augmented scenes + references), as `fruits train` does.
 *
 * @example
 * ```ts
 * import { train } from 'fruits';
 * const report = await train({ run: './run', backgrounds: './backgrounds' });
 * ```
 */
export { DEFAULT_AUGMENT, train, type TrainOptions, type TrainingReport } from './api/train.js';
/**
 * The fruit app: a Hono app (HTTP API + web page) and a server for it.
 *
 * @example
 * ```ts
 * import { createApp, openFruitDirectory, openStorage, startServer, ThreadedIdentifier } from 'fruits';
 * const identifier = await ThreadedIdentifier.open({ run: './run' });
 * const app = createApp({ identifier, directory: await openFruitDirectory(), feedback: openStorage('./run') });
 * await startServer(app, { port: 8080, host: '0.0.0.0', requestTimeoutMs: 30_000 });
 * ```
 */
export { createApp, DEFAULT_LIMITS, startServer, type AppOptions, type PhotoIdentifier, type RunningServer } from './app/server.js';
/** An {@link Identifier} on its own thread, so the HTTP server stays responsive. */
export { ThreadedIdentifier, type ThreadedIdentifierInfo, type ThreadedIdentifierOptions } from './app/identifier-thread.js';
/** The fruit information of every class, in the app's languages. */
export { openFruitDirectory, type FruitDirectory } from './app/fruit-directory.js';
/** An identification as the HTTP API answers it. */
export { buildAnswer, type ApiAnswer } from './app/answer.js';

// ── errors ───────────────────────────────────────────────────────────────────────────────────────────────────────
/** The base error (stable `code`, kept `cause`), invalid options, and their transport across threads. */
export { FruitsError, fromWire, InvalidOptionError, toWire, type FruitsErrorOptions, type WireError } from './errors/index.js';
/** Errors of the storage layer. */
export { S3StorageError, StorageError } from './storage/errors.js';
/** Errors of the images layer. */
export { ImageDecodeError, type ImageDecodeReason } from './images/errors.js';
/** Errors of the model layer. */
export {
  DownloadError,
  KerasWeightsError,
  ModelChecksumError,
  ModelContractError,
  ModelError,
  ModelNotFoundError,
  ModelVerificationError,
  ModelWeightsError,
  NpyFormatError,
  WeightsFolderError,
  type DownloadFailure,
} from './model/errors.js';
/** Errors of the PCA layer. */
export { PcaFormatError } from './pca/errors.js';
/** Errors of the dataset layer. */
export { DamagedPartError, RunFileError } from './dataset/errors.js';
/** Errors of the pipeline stages. */
export {
  AugmentStoppedError,
  EmptyInputError,
  GlobPatternError,
  LabelRuleError,
  OutputConflictError,
  ShardInputError,
  ShardStoppedError,
  TooFewImagesError,
} from './pipeline/errors.js';
/** Errors of the classifier. */
export { ClassifierClosedError, ClassifierError, QueueFullError, RunModelMismatchError, RunNotReadyError } from './classifier/errors.js';
/** Errors of the engines (the worker thread's error, rebuilt). */
export { WorkerTaskError } from './engine/errors.js';
/** Errors of the distributed engine. */
export {
  AccessDeniedError,
  InvalidJobError,
  isAuthError,
  ModelBroadcastError,
  RedisAuthError,
  RedisUnreachableError,
  RedisUrlError,
  RunFailedError,
  UnknownRunError,
} from './engine/bullmq/errors.js';
/** Errors of the catalog. */
export { CatalogError } from './catalog/errors.js';
/** Errors of the HTTP API. */
export { HttpError, type ErrorCode } from './app/errors.js';
