import { createHash } from 'node:crypto';
import type { Plan, Shard } from '../dataset/plan.js';
import { IMAGE_EXTENSIONS, type InputFormat, type RunOptions, type RunSpec } from '../dataset/run-spec.js';
import { listParallel } from '../storage/list-parallel.js';
import type { Storage, StorageEntry } from '../storage/storage.js';
import { EmptyInputError } from './errors.js';
import { globToRegExp } from './glob.js';
import { labelFor } from './labels.js';
import { planContainers } from './plan-containers.js';

import type { PlanProgress } from './plan-progress.js';

export type { PlanProgress };

export interface PlanOptions {
  /** Folders listed at once (default 16). */
  listConcurrency?: number;
  onProgress?: (progress: PlanProgress) => void;
}

/**
 * Checks that the input exists and holds at least one image (or, for --input-format tar/parquet or an input with no
 * image files, one .tar/.parquet file), listing only until the first one: run before the model is looked up, so a
 * wrong path or an empty folder is reported as such, not as a missing model.
 */
export async function checkInput(input: Storage, options: Pick<RunOptions, 'glob' | 'inputFormat'>): Promise<void> {
  const filter = imageFilter(options.glob);
  const format = options.inputFormat ?? 'auto';
  let listed = 0;
  for await (const entry of input.list()) {
    listed++;
    if ((format === 'auto' || format === 'files') && isImageEntry(entry.key, filter)) return;
    if ((format === 'auto' || format === 'tar') && isContainer(entry.key, 'tar')) return;
    if ((format === 'auto' || format === 'parquet') && isContainer(entry.key, 'parquet')) return;
  }
  throw await noImagesError(input, listed, options.glob, format);
}

function imageFilter(glob: string | undefined): RegExp {
  return glob ? globToRegExp(glob) : new RegExp(`\\.(${IMAGE_EXTENSIONS.join('|')})$`, 'i');
}

/** Hidden files and anything under a folder whose name starts with `_` are not inputs. */
export function isImageEntry(key: string, filter: RegExp): boolean {
  const name = key.split('/').pop() ?? '';
  if (name.startsWith('.') || key.split('/').some((part) => part.startsWith('_'))) return false;
  return filter.test(key);
}

function isContainer(key: string, format: 'tar' | 'parquet'): boolean {
  return isImageEntry(key, format === 'tar' ? /\.tar$/i : /\.parquet$/i);
}

async function noImagesError(input: Storage, listed: number, glob: string | undefined, format: InputFormat = 'auto'): Promise<EmptyInputError> {
  if (listed === 0 && !(await input.exists(''))) {
    return new EmptyInputError(`input ${input.uri} does not exist: check the path (a folder of class sub-folders, or s3://bucket/prefix)`, {
      code: 'FRUITS_INPUT_NOT_FOUND',
    });
  }
  const wanted =
    format === 'tar'
      ? '*.tar'
      : format === 'parquet'
        ? '*.parquet'
        : glob
          ? `--glob ${glob}`
          : [...IMAGE_EXTENSIONS.map((e) => `*.${e}`), '*.tar', '*.parquet'].join(', ');
  return new EmptyInputError(
    listed === 0
      ? `input ${input.uri} is empty: expected one sub-folder per class holding images, WebDataset .tar shards or Parquet image tables`
      : `input ${input.uri} holds ${listed} files but none matches ${wanted}`,
  );
}

/**
 * Lists the input (class folders side by side), keeps the images, sorts the keys (byte order, stable across
 * machines) and cuts fixed-size shards: the same input and options always give the same shards, which is what makes
 * --resume exact. Tar and Parquet inputs are indexed file by file (plan-containers.ts): their shards are member or
 * row ranges of one file.
 */
export async function planShards(input: Storage, spec: RunSpec, options: PlanOptions = {}): Promise<Plan> {
  const started = performance.now();
  const { shardSize, glob, labelFrom } = spec.options;
  const filter = imageFilter(glob);
  const listing = await listParallel(input, {
    concurrency: options.listConcurrency,
    onProgress: options.onProgress && ((p) => options.onProgress!({ phase: 'list', ...p })),
  });
  const format = resolveFormat(spec.options.inputFormat ?? 'auto', listing, filter);
  if (format === 'tar' || format === 'parquet') {
    const files = listing.filter((e) => isContainer(e.key, format)).sort(byKey);
    if (files.length === 0) throw await noImagesError(input, listing.length, glob, format);
    const planned = await planContainers(input, files, format, spec.options, filter, options.onProgress);
    return { spec, ...planned, listMs: performance.now() - started, format };
  }
  const entries = listing.filter((e) => isImageEntry(e.key, filter));
  if (entries.length === 0) throw await noImagesError(input, listing.length, glob, format);
  entries.sort(byKey);
  const shards: Shard[] = [];
  const classes = new Set<string>();
  for (let start = 0; start < entries.length; start += shardSize) {
    const slice = entries.slice(start, start + shardSize);
    const labels = slice.map((e) => labelFor(e.key, labelFrom));
    labels.forEach((l) => classes.add(l));
    shards.push({ index: shards.length, keys: slice.map((e) => e.key), labels, sizes: slice.map((e) => e.size) });
  }
  return { spec, images: entries.length, classes: [...classes].sort(), shards, listMs: performance.now() - started };
}

function byKey(a: StorageEntry, b: StorageEntry): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** auto: image files win (an input of images with a stray .tar reads as before), then .tar, then .parquet. */
function resolveFormat(format: InputFormat, listing: StorageEntry[], filter: RegExp): 'files' | 'tar' | 'parquet' {
  if (format !== 'auto') return format;
  if (listing.some((e) => isImageEntry(e.key, filter))) return 'files';
  if (listing.some((e) => isContainer(e.key, 'tar'))) return 'tar';
  if (listing.some((e) => isContainer(e.key, 'parquet'))) return 'parquet';
  return 'files';
}

/**
 * sha256 of what the shards hold (keys, labels, input sizes), recorded in the manifest: a finished run's plan is
 * removed with _tmp/ by the commit, and --resume re-plans it from the input; equal digests mean the same shards.
 */
export function planDigest(plan: Pick<Plan, 'shards'>): string {
  const hash = createHash('sha256');
  // A tar or Parquet shard adds where its images lie; a files shard hashes as it always did (old runs still resume).
  for (const s of plan.shards)
    hash.update(JSON.stringify(s.source ? [s.index, s.keys, s.labels, s.sizes, s.source] : [s.index, s.keys, s.labels, s.sizes])).update('\n');
  return hash.digest('hex');
}
