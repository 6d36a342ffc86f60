import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ModelError, ModelVerificationError, ModelWeightsError } from '../errors.js';
import { knownModelByFile } from '../known-models.js';
import { sha256Bytes } from '../sha256.js';
import { loadKerasH5Weights } from '../weights/keras-h5.js';
import { loadNpyFolderWeights } from '../weights/npy-folder.js';
import type { LoadedWeights } from '../weights/source.js';
import { BUILDER_VERSION, buildMobileNetV2Onnx, PREPROCESSING } from './mobilenet-v2-graph.js';
import { writeSidecar, SIDECAR_FORMAT, type DownloadProvenance, type ModelSidecar } from './sidecar.js';
import { describeChecks, findReferenceInput, verifyModel } from './verify.js';

export interface BuildProgress {
  phase: 'build' | 'verify';
  done: number;
  total: number;
}

export interface BuildModelOptions {
  /** A per-tensor `.npy` weights folder (with layer_map.json) or a Keras `.h5` weights file. */
  from: string;
  /** The `.onnx` file to write; its sidecar goes to `<out>.json`. */
  out: string;
  /** `test_data_set/0/input_0.npy` for the SOURCES.md golden numbers; found automatically when omitted. */
  referenceInput?: string;
  env?: NodeJS.ProcessEnv;
  /** Recorded in the sidecar when the weights were downloaded. */
  download?: DownloadProvenance;
  onProgress?: (event: BuildProgress) => void;
}

export interface BuiltModel {
  path: string;
  sha256: string;
  sidecar: ModelSidecar;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Reads weights from whichever source `from` is: a folder is an `.npy` folder, a file must be HDF5. */
export async function loadWeights(from: string): Promise<LoadedWeights> {
  const path = resolve(from);
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) throw new ModelWeightsError(`${path} does not exist`, { code: 'FRUITS_MODEL_WEIGHTS_NOT_FOUND' });
  if (stat.isDirectory()) return loadNpyFolderWeights(path);
  if (!isHdf5(path) && !/\.(h5|hdf5)$/i.test(path)) throw new ModelWeightsError(`${path} is neither an .npy weights folder nor an HDF5 (.h5) file`);
  return loadKerasH5Weights(path);
}

/**
 * Builds the ONNX model from the weights, verifies it (contract + golden numbers) BEFORE anything is written, then
 * writes the model (to a temporary name, renamed into place) and its sidecar. A model that fails verification
 * is never written: ModelVerificationError says which check failed.
 */
export async function buildModel(options: BuildModelOptions): Promise<BuiltModel> {
  const progress = options.onProgress ?? (() => undefined);
  const out = resolve(options.out);
  const reserved = knownModelByFile(basename(out));
  if (reserved) {
    throw new ModelError(
      `${basename(out)} is the name of a known model with a pinned sha256 (${reserved.sha256.slice(0, 12)}…); a model built here ` +
        `has other bytes and would be refused under that name. Choose another name, e.g. ${basename(out).replace(/\.onnx$/, '.built.onnx')}.`,
    );
  }
  progress({ phase: 'build', done: 0, total: 2 });
  const { weights, source } = await loadWeights(options.from);
  progress({ phase: 'build', done: 1, total: 2 });
  const bytes = buildMobileNetV2Onnx(weights, {
    metadata: { source_weights: `${source.kind} sha256 ${source.sha256}` },
  });
  const sha256 = sha256Bytes(bytes);
  progress({ phase: 'build', done: 2, total: 2 });

  progress({ phase: 'verify', done: 0, total: 1 });
  const referenceInput =
    options.referenceInput ?? findReferenceInput({ weightsFolder: source.kind === 'npy-folder' ? source.path : undefined, env: options.env });
  const verification = await verifyModel(bytes, { referenceInput });
  progress({ phase: 'verify', done: 1, total: 1 });
  if (!verification.passed) {
    throw new ModelVerificationError(
      `the model built from ${source.path} failed verification, so it was not written: ${describeChecks(verification).join('; ')}. ` +
        `The weights are not the Keras/TF-slim ImageNet MobileNetV2 1.0/224, or the file is damaged.`,
    );
  }

  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
  const sidecar: ModelSidecar = {
    format: SIDECAR_FORMAT,
    model: { file: basename(out), sha256, bytes: bytes.length },
    builder: BUILDER_VERSION,
    builtAt: new Date().toISOString(),
    preprocessing: PREPROCESSING,
    source: options.download ? { ...source, download: options.download } : source,
    verification,
  };
  writeSidecar(out, sidecar);
  return { path: out, sha256, sidecar };
}

function isHdf5(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(8);
    const n = readSync(fd, head, 0, 8, 0);
    return n === 8 && HDF5_SIGNATURE.every((b, i) => head[i] === b);
  } finally {
    closeSync(fd);
  }
}
