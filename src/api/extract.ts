/**
 * The `extract` use case as a library call: check the input and output, find and verify the model, plan (or resume)
 * the run, and have an engine featurize, reduce, project and commit it. `fruits extract` is this plus argument
 * parsing, progress display and exit codes; a program that imports `fruits` gets the same run.
 *
 * It sits above the engines (it chooses one) and below the CLI: the order of the checks is part of the contract,
 * so a wrong path or an occupied output is reported as such before any model is looked up, and nothing is written
 * before the model is known to work.
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import type { Manifest } from '../dataset/manifest.js';
import type { Plan } from '../dataset/plan.js';
import type { PartProblem } from '../dataset/part-record.js';
import { DEFAULT_RUN_OPTIONS, type RunOptions } from '../dataset/run-spec.js';
import type { Engine, RunHooks } from '../engine/engine.js';
import { LocalEngine } from '../engine/local/local-engine.js';
import { FruitsError, InvalidOptionError } from '../errors/fruits-error.js';
import { FeatureExtractor } from '../model/feature-extractor.js';
import type { LocatedModel } from '../model/locate.js';
import { ensureModel, type ProvisionProgress } from '../model/provision/index.js';
import { checkInput, type PlanOptions } from '../pipeline/plan.js';
import { checkOutput, prepareRun } from '../pipeline/prepare-run.js';
import type { Verification } from '../pipeline/verify-run.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';

/** The model a run uses: where it was found, and what opening it told us. */
export interface ResolvedModel extends LocatedModel {
  /** The file's sha256, recorded in the run's plan and manifest. */
  sha256: string;
  /** Length of the feature vector (1280 for MobileNetV2). */
  featureDim: number;
}

/** What {@link prepareExtract} needs: where the images are, where the run goes, and how to run it. */
export interface PrepareExtractOptions {
  /** A folder, `s3://bucket/prefix`, tar shards or Parquet tables (see the README's input formats), or a {@link Storage}. */
  input: string | Storage;
  /** The run's folder or `s3://` prefix, or a {@link Storage}. */
  output: string | Storage;
  /** ONNX model file or folder; default `FRUITS_MODEL`, `FRUITS_MODEL_DIR`, then the cache (built on first use). */
  model?: string;
  /** Shard size, batch size, PCA choice, glob, label rule…; anything left out takes its default. */
  options?: Partial<RunOptions>;
  /** Finish an interrupted run in `output` (or verify and repair a finished one). */
  resume?: boolean;
  /** Replace the run in `output` (only files fruits wrote are removed). */
  overwrite?: boolean;
  /** Download, build and verify progress while the model is provisioned. */
  onModelProgress?: (event: ProvisionProgress) => void;
  /** Listing and indexing progress of the input, while a new plan is made. */
  onPlanProgress?: PlanOptions['onProgress'];
}

/** A run checked and planned, not started: either ready for an engine, or already finished. */
export type PreparedExtract = {
  input: Storage;
  output: Storage;
  model: ResolvedModel;
  options: RunOptions;
} & (
  | {
      state: 'ready';
      plan: Plan;
      /** An unfinished run in `output` is continued. */
      resumed: boolean;
      /** A finished run failed verification and was reopened: these parts are redone. */
      repaired?: PartProblem[];
    }
  | { state: 'complete'; manifest: Manifest; verification: Verification }
);

/** A prepared run that an engine can take. */
export type ReadyExtract = Extract<PreparedExtract, { state: 'ready' }>;

/** What {@link extract} takes: {@link PrepareExtractOptions} plus the engine and its hooks. */
export interface ExtractOptions extends PrepareExtractOptions, RunHooks {
  /**
   * The engine that runs the shards, or a function making it once the model is known (an engine needs the model's
   * path). Default: a {@link LocalEngine} with `workers` threads.
   */
  engine?: Engine | ((model: ResolvedModel) => Engine | Promise<Engine>);
  /** Local engine: pipeline threads (default one per core). */
  workers?: number;
  /** Local engine: onnxruntime threads per pipeline thread (default 1). */
  threads?: number;
}

/**
 * Finds, verifies and opens the model once (then closes it): a missing, corrupt or wrong-shaped model stops a run
 * before anything is listed or written.
 *
 * @example
 * ```ts
 * import { resolveModel } from 'fruits';
 * const model = await resolveModel({ model: './models' });
 * console.log(model.path, model.sha256, model.featureDim);
 * ```
 */
export async function resolveModel(options: { model?: string; onProgress?: (event: ProvisionProgress) => void } = {}): Promise<ResolvedModel> {
  const located = await ensureModel({ model: options.model, onProgress: options.onProgress });
  const probe = await FeatureExtractor.open(located.path, { threads: 1 });
  const { sha256, featureDim } = probe.info;
  await probe.close();
  return { ...located, sha256, featureDim };
}

/**
 * Checks and plans a run without starting it: input and output first (cheap, nothing written), then the model,
 * then the plan (or the resumed run's plan). The CLI uses it to report the plan before running it; most programs
 * call {@link extract}.
 *
 * @example
 * ```ts
 * import { prepareExtract, runExtract, LocalEngine } from 'fruits';
 * const prepared = await prepareExtract({ input: './photos', output: './run' });
 * if (prepared.state === 'ready') {
 *   console.log(`${prepared.plan.images} images in ${prepared.plan.shards.length} shards`);
 *   await runExtract(prepared, new LocalEngine({ modelPath: prepared.model.path }));
 * }
 * ```
 */
export async function prepareExtract(options: PrepareExtractOptions): Promise<PreparedExtract> {
  const input = typeof options.input === 'string' ? openStorage(options.input) : options.input;
  const output = typeof options.output === 'string' ? openStorage(options.output) : options.output;
  const runOptions: RunOptions = { ...DEFAULT_RUN_OPTIONS, ...options.options };
  const resume = options.resume ?? false;
  const overwrite = options.overwrite ?? false;
  if (resume && overwrite) throw new InvalidOptionError('resume and overwrite exclude each other');
  // Input and output before the model: a wrong path, an empty folder or an occupied output is reported as such,
  // not as "no model found" when no model is configured.
  await checkInput(input, runOptions);
  await checkOutput(output, { resume, overwrite });
  const model = await resolveModel({ model: options.model, onProgress: options.onModelProgress });
  // PCA cannot keep more components than the features have dimensions; k used to be cut to 1280 silently.
  if ('k' in runOptions.pca && runOptions.pca.k > model.featureDim) {
    throw new InvalidOptionError(
      `--pca-k ${runOptions.pca.k} is more than the model's ${model.featureDim} feature dimensions: give at most ${model.featureDim}`,
    );
  }
  const prepared = await prepareRun({
    input,
    output,
    options: runOptions,
    model: { path: model.path, sha256: model.sha256 },
    resume,
    overwrite,
    onPlanProgress: options.onPlanProgress,
  });
  const common = { input, output, model, options: runOptions };
  return prepared.state === 'complete'
    ? { ...common, state: 'complete', manifest: prepared.manifest, verification: prepared.verification }
    : { ...common, state: 'ready', plan: prepared.plan, resumed: prepared.resumed, repaired: prepared.repaired };
}

/**
 * Runs a prepared run on an engine and returns its manifest. A run that ends without `_SUCCESS` (an engine that
 * stopped early) is an error: only `_SUCCESS` says a run is finished.
 *
 * @example
 * ```ts
 * import { prepareExtract, runExtract, LocalEngine } from 'fruits';
 * const prepared = await prepareExtract({ input: './photos', output: './run', resume: true });
 * const manifest = prepared.state === 'complete'
 *   ? prepared.manifest
 *   : await runExtract(prepared, new LocalEngine({ modelPath: prepared.model.path, workers: 4 }));
 * ```
 */
export async function runExtract(prepared: ReadyExtract, engine: Engine, hooks: RunHooks = {}): Promise<Manifest> {
  const manifest = await engine.run(prepared.plan, hooks);
  if (!(await prepared.output.exists('_SUCCESS'))) {
    throw new FruitsError(`run ${prepared.plan.spec.runId} ended without _SUCCESS in ${prepared.output.uri}: resume it with --resume`, {
      code: 'FRUITS_RUN_INCOMPLETE',
    });
  }
  return manifest;
}

/**
 * What `fruits extract` does: every image under `input` → MobileNetV2 features → PCA → Parquet in `output`,
 * finished with `manifest.json` and `_SUCCESS`. A run already finished in `output` (same input, options and model)
 * is verified and its manifest returned; with `resume`, an unfinished one is continued.
 *
 * Failed images do not fail the run: they are counted in `manifest.counts.errors` and listed in `errors/`.
 *
 * @example
 * ```ts
 * import { extract } from 'fruits';
 * const manifest = await extract({
 *   input: './photos',            // one sub-folder per class
 *   output: './run',
 *   options: { shardSize: 256, pca: { k: 50 } },
 *   onEvent: (event) => console.error(event),
 * });
 * console.log(manifest.runId, manifest.counts);
 * ```
 */
export async function extract(options: ExtractOptions): Promise<Manifest> {
  const prepared = await prepareExtract(options);
  if (prepared.state === 'complete') return prepared.manifest;
  const engine =
    typeof options.engine === 'function'
      ? await options.engine(prepared.model)
      : (options.engine ??
        new LocalEngine({ modelPath: prepared.model.path, workers: options.workers ?? availableParallelism(), threads: options.threads ?? 1 }));
  return runExtract(prepared, engine, { onEvent: options.onEvent, onRedo: options.onRedo, signal: options.signal });
}
