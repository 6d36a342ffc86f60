import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ModelNotFoundError } from './errors.js';
import { DEFAULT_MODEL } from './known-models.js';

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
  source: 'option' | 'FRUITS_MODEL' | 'FRUITS_MODEL_DIR' | 'cache';
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
