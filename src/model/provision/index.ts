import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildModel, type BuiltModel } from '../builder/build-model.js';
import { readSidecar, sidecarPath, type ModelSidecar } from '../builder/sidecar.js';
import { ModelNotFoundError } from '../errors.js';
import { BUILT_MODEL_FILE, locateModel, modelCacheDir, type LocatedModel } from '../locate.js';
import { sha256File } from '../sha256.js';
import { DownloadError } from '../errors.js';
import { downloadVerified, type DownloadOptions, type DownloadResult } from './download.js';
import { KERAS_WEIGHTS_NO_TOP, weightsUrl, type PublishedWeightsFile } from './published-weights.js';

export { KERAS_WEIGHTS_FULL, KERAS_WEIGHTS_NO_TOP, weightsBaseUrl, type PublishedWeightsFile } from './published-weights.js';

export { BUILT_MODEL_FILE };

/** Built from the full Keras file: `features` plus the ImageNet `logits` [N,1000]. Never picked automatically. */
export const BUILT_CLASSIFIER_MODEL_FILE = 'mobilenet_v2_1.0_224_keras_nhwc_logits.built.onnx';

export interface ProvisionProgress {
  phase: 'download' | 'build' | 'verify';
  done: number;
  total: number;
}

export interface EnsureModelOptions {
  /** --model: a file or a folder (see locateModel). */
  model?: string;
  env?: NodeJS.ProcessEnv;
  onProgress?: (event: ProvisionProgress) => void;
  /** The published file to build from; default the Keras no_top file. Tests pass a file of their own. */
  weights?: PublishedWeightsFile;
  /** Download tuning (tries, timeouts), mainly for tests. */
  download?: Pick<DownloadOptions, 'attempts' | 'idleTimeoutMs' | 'retryDelayMs'>;
}

export interface FetchResult {
  path: string;
  sha256: string;
  sidecar: ModelSidecar;
  /** Undefined when a valid built model was already in the cache and nothing was done. */
  download?: DownloadResult;
}

export function builtModelPath(env: NodeJS.ProcessEnv = process.env, weights: PublishedWeightsFile = KERAS_WEIGHTS_NO_TOP): string {
  return join(modelCacheDir(env), weights.includesClassifier ? BUILT_CLASSIFIER_MODEL_FILE : BUILT_MODEL_FILE);
}

/**
 * The built model in the cache, if it is intact: its sidecar exists, records a passed verification, and names the
 * file's current sha256. Anything else (no sidecar, edited or truncated file) counts as absent and gets rebuilt.
 */
export async function findBuiltModel(
  env: NodeJS.ProcessEnv = process.env,
  weights: PublishedWeightsFile = KERAS_WEIGHTS_NO_TOP,
): Promise<{ path: string; sidecar: ModelSidecar } | undefined> {
  const path = builtModelPath(env, weights);
  if (!existsSync(path)) return undefined;
  const sidecar = readSidecar(path);
  if (!sidecar || !sidecar.verification?.passed) return undefined;
  if ((await sha256File(path)) !== sidecar.model.sha256) return undefined;
  return { path, sidecar };
}

/**
 * First use: the model the user chose or already has (locateModel: --model, FRUITS_MODEL, FRUITS_MODEL_DIR, the
 * cache), else the built model in the cache, else download the Keras weights, build, verify, cache and return it.
 * An explicit choice that does not exist is an error (never replaced by a download). Without a network this throws
 * ModelNotFoundError naming the two ways out.
 */
export async function ensureModel(options: EnsureModelOptions = {}): Promise<LocatedModel> {
  const env = options.env ?? process.env;
  const found = locateModel({ model: options.model, env });
  if (found) return found;
  const result = await fetchModel(options);
  return { path: result.path, source: 'cache' };
}

/**
 * `fruits model fetch`: make sure the cache holds a verified model built from the published Keras weights.
 * `force` downloads the weights again and rebuilds even when a valid model is cached.
 */
export async function fetchModel(options: EnsureModelOptions & { force?: boolean } = {}): Promise<FetchResult> {
  const env = options.env ?? process.env;
  const weights = options.weights ?? KERAS_WEIGHTS_NO_TOP;
  const progress = options.onProgress ?? (() => undefined);
  const out = builtModelPath(env, weights);
  if (!options.force) {
    const cached = await findBuiltModel(env, weights);
    if (cached) return { path: cached.path, sha256: cached.sidecar.model.sha256, sidecar: cached.sidecar };
  }

  const url = weightsUrl(weights, env);
  const dest = join(modelCacheDir(env), 'downloads', weights.file);
  if (options.force) rmSync(dest, { force: true });
  let download: DownloadResult;
  try {
    download = await downloadVerified({
      url,
      dest,
      bytes: weights.bytes,
      sha256: weights.sha256,
      onProgress: (done, total) => progress({ phase: 'download', done, total }),
      ...options.download,
    });
  } catch (error) {
    if (!(error instanceof DownloadError)) throw error;
    const retry =
      error.failure === 'unreachable' || error.failure === 'interrupted'
        ? 'or connect to the internet and rerun (`fruits model fetch`; an interrupted download resumes)'
        : `or rerun later, or set FRUITS_WEIGHTS_BASE_URL to a mirror that serves ${weights.file}`;
    throw new ModelNotFoundError(
      `no MobileNetV2 model here, and its weights could not be downloaded: ${error.message}. ` +
        `Either give a model with --model PATH (or FRUITS_MODEL / FRUITS_MODEL_DIR), ${retry}.`,
    );
  }

  // A stale sidecar must never vouch for a new file: remove it before the new model is written.
  rmSync(sidecarPath(out), { force: true });
  let built: BuiltModel;
  try {
    built = await buildModel({
      from: download.path,
      out,
      env,
      download: { url, bytes: weights.bytes, pinnedSha256: weights.sha256 ?? null },
      onProgress: progress,
    });
  } catch (error) {
    // Without a pinned hash the build's golden checks are what vouch for the download: a file that fails them
    // is not kept, so the next run fetches it again instead of failing on the same bytes forever.
    if (!weights.sha256) rmSync(dest, { force: true });
    throw error;
  }
  return { path: built.path, sha256: built.sha256, sidecar: built.sidecar, download };
}
