import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { ModelNotFoundError } from './errors.js';
import { DEFAULT_MODEL } from './known-models.js';
import { sha256File } from './sha256.js';

/**
 * What `fruits model fetch` builds into the cache from the published Keras weights. Same network and features
 * as the prebuilt `mobilenet_v2_1.0_224_keras_features_nhwc.onnx`, other bytes (initializer names, metadata,
 * float32 rounding of our BatchNorm folding), so it has its own name: the prebuilt file's pinned sha256 does not
 * apply to it; its own sha256 is pinned by its sidecar `<file>.json`, checked every time it is provisioned.
 */
export const BUILT_MODEL_FILE = 'mobilenet_v2_1.0_224_keras_features_nhwc.built.onnx';

export interface LocateOptions {
  /** --model on the command line: a file, or a folder holding the default model file. */
  model?: string;
  env?: NodeJS.ProcessEnv;
}

/** Where a model was found, so the manifest and `fruits model info` can say why this file was used. */
export interface LocatedModel {
  path: string;
  source: 'option' | 'FRUITS_MODEL' | 'FRUITS_MODEL_DIR' | 'cache' | 'run';
}

export function modelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'fruits');
}

/**
 * Resolution order: --model, FRUITS_MODEL, FRUITS_MODEL_DIR/<default file>, the user cache.
 * An explicit choice that does not exist is an error, never a silent fall-through to another model.
 */
export function locateModel(options: LocateOptions = {}): LocatedModel | undefined {
  const env = options.env ?? process.env;
  const explicit: [string | undefined, LocatedModel['source']][] = [
    [options.model, 'option'],
    [env.FRUITS_MODEL, 'FRUITS_MODEL'],
    [env.FRUITS_MODEL_DIR, 'FRUITS_MODEL_DIR'],
  ];
  for (const [value, source] of explicit) {
    if (!value) continue;
    const path = resolve(value);
    if (!existsSync(path)) {
      throw new ModelNotFoundError(
        `model not found: ${path} (from ${source === 'option' ? '--model' : source}). ` +
          `Point it at ${DEFAULT_MODEL.file} or at the folder that holds it, or unset it to use the cached model.`,
      );
    }
    if (statSync(path).isDirectory()) {
      const file = join(path, DEFAULT_MODEL.file);
      if (!existsSync(file)) {
        throw new ModelNotFoundError(
          `${path} (from ${source === 'option' ? '--model' : source}) holds no ${DEFAULT_MODEL.file}. ` +
            `Pass the .onnx file itself with --model, or run \`fruits model fetch\`.`,
        );
      }
      return { path: file, source };
    }
    return { path, source };
  }
  // Only the prebuilt file: a model that `fruits model fetch` built is returned by ensureModel (model/provision),
  // which checks it against its sidecar first.
  const cached = join(modelCacheDir(env), DEFAULT_MODEL.file);
  if (existsSync(cached)) return { path: cached, source: 'cache' };
  return undefined;
}

/** The same as locateModel, but a missing model is an error that names the ways out. */
export function requireModel(options: LocateOptions = {}): LocatedModel {
  const found = locateModel(options);
  if (found) return found;
  throw new ModelNotFoundError(
    `no model found. Give one with --model PATH (or FRUITS_MODEL / FRUITS_MODEL_DIR), ` +
      `or run \`fruits model fetch\` to download the published weights and build ${BUILT_MODEL_FILE} into ${modelCacheDir(options.env ?? process.env)}.`,
  );
}

/** What a run's manifest says about its model: file name, sha256, and (runs made since) the absolute path used. */
export interface RecordedModel {
  file: string;
  sha256: string;
  path?: string;
}

/**
 * The model of an existing run, for `serve`, `identify` and `evaluate`. An explicit choice (--model, FRUITS_MODEL)
 * is used as given: the caller checks its sha256 against the run and says so when it differs. Otherwise the first
 * file whose sha256 IS the run's, among FRUITS_MODEL_DIR, the user cache and the path the run recorded: the
 * README's `extract` with FRUITS_MODEL_DIR set inline is followed by a `serve` without it, and that must work.
 */
export async function locateRunModel(recorded: RecordedModel, options: LocateOptions = {}): Promise<LocatedModel> {
  const env = options.env ?? process.env;
  if (options.model || env.FRUITS_MODEL) return requireModel({ ...options, env });
  // Only a bare file name is joined to a folder: a manifest is data, and `../x` or `/x` must not steer the lookup.
  const file = basename(recorded.file) === recorded.file ? recorded.file : DEFAULT_MODEL.file;
  const candidates: { path: string; source: LocatedModel['source'] }[] = [];
  const modelDir = env.FRUITS_MODEL_DIR ? resolve(env.FRUITS_MODEL_DIR) : undefined;
  if (modelDir) {
    if (existsSync(modelDir) && statSync(modelDir).isFile()) candidates.push({ path: modelDir, source: 'FRUITS_MODEL_DIR' });
    else for (const name of [file, DEFAULT_MODEL.file]) candidates.push({ path: join(modelDir, name), source: 'FRUITS_MODEL_DIR' });
  }
  for (const name of [file, DEFAULT_MODEL.file, BUILT_MODEL_FILE]) candidates.push({ path: join(modelCacheDir(env), name), source: 'cache' });
  if (recorded.path && isAbsolute(recorded.path)) candidates.push({ path: recorded.path, source: 'run' });

  const tried: string[] = [];
  const seen = new Set<string>();
  for (const candidate of candidates) {
    if (seen.has(candidate.path)) continue;
    seen.add(candidate.path);
    if (!existsSync(candidate.path) || !statSync(candidate.path).isFile()) continue;
    const sha256 = await sha256File(candidate.path);
    if (sha256 === recorded.sha256) return candidate;
    tried.push(`${candidate.path} (another model, sha256 ${sha256.slice(0, 12)}…)`);
  }
  const looked = [
    modelDir ? `FRUITS_MODEL_DIR ${modelDir}` : undefined,
    `the cache ${modelCacheDir(env)}`,
    recorded.path ? `the recorded path ${recorded.path}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  throw new ModelNotFoundError(
    `the run's model ${recorded.file} (sha256 ${recorded.sha256.slice(0, 16)}…) was not found in ${looked}` +
      (tried.length > 0 ? `; found only ${tried.join(', ')}` : '') +
      `. Give that file with --model PATH (or FRUITS_MODEL / FRUITS_MODEL_DIR).`,
  );
}
