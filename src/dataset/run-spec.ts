import { createHash, randomBytes } from 'node:crypto';
import type { ComponentChoice } from '../pca/pca-model.js';

/**
 * --label-from: how a relative image path becomes its label.
 * parent (default): the folder that holds the file — the Fruits-360 layout `<Class>/<file>.jpg`;
 * first: the first folder under the input root, for `<Class>/<any>/<depth>/<file>`;
 * regex:<pattern>: the first capture group of the pattern on the relative path; none: empty label.
 */
export type LabelRule = 'parent' | 'first' | 'none' | `regex:${string}`;

/** Everything that decides a run's output. Two runs with the same fingerprint produce the same parts. */
export interface RunOptions {
  shardSize: number;
  batchSize: number;
  pca: ComponentChoice;
  /** Default: the image extensions below, case-insensitive. */
  glob?: string;
  labelFrom: LabelRule;
  maxPixels: number;
  imageSize: number;
  /**
   * --input-format; absent means auto: image files if the input holds any, else its .tar files (WebDataset), else its
   * .parquet files (image tables). Set only when given, so runs made before it keep their fingerprint.
   */
  inputFormat?: InputFormat;
}

/** What the images are stored as: one file each, WebDataset tar shards, or Parquet image tables. */
export type InputFormat = 'auto' | 'files' | 'tar' | 'parquet';

export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp'] as const;

export const DEFAULT_RUN_OPTIONS: RunOptions = {
  shardSize: 512,
  batchSize: 16,
  pca: { variance: 0.95 },
  labelFrom: 'parent',
  maxPixels: 50_000_000,
  imageSize: 224,
};

export interface RunSpec {
  runId: string;
  input: string;
  output: string;
  createdAt: string;
  options: RunOptions;
  /** `path`: the absolute path extract used (absent in older runs), so serve/identify find the same file. */
  model: { file: string; sha256: string; path?: string };
  /** Hash of input, options (but batch size) and model: what "the same run" means for --resume. */
  fingerprint: string;
}

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export function fingerprint(input: string, options: RunOptions, modelSha256: string): string {
  const { batchSize: _batch, ...decisive } = options;
  return createHash('sha256').update(JSON.stringify({ input, decisive, modelSha256 })).digest('hex').slice(0, 16);
}
