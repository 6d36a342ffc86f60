import { createHash } from 'node:crypto';
import type { Plan, Shard } from '../dataset/plan.js';
import { StorageError, type Storage } from '../storage/storage.js';
import { globToRegExp } from './glob.js';
import { labelFor } from './labels.js';
import { IMAGE_EXTENSIONS, type RunOptions, type RunSpec } from '../dataset/run-spec.js';

/** Thrown when the input has nothing to do; the message says what was looked for. */
export class EmptyInputError extends StorageError {
  override name = 'EmptyInputError';
}

/**
 * Checks that the input exists and holds at least one image, listing only until the first one: run before the
 * model is looked up, so a wrong path or an empty folder is reported as such, not as a missing model.
 */
export async function checkInput(input: Storage, options: Pick<RunOptions, 'glob'>): Promise<void> {
  const filter = imageFilter(options.glob);
  let listed = 0;
  for await (const entry of input.list()) {
    listed++;
    if (isImageEntry(entry.key, filter)) return;
  }
  throw await noImagesError(input, listed, options.glob);
}

function imageFilter(glob: string | undefined): RegExp {
  return glob ? globToRegExp(glob) : new RegExp(`\\.(${IMAGE_EXTENSIONS.join('|')})$`, 'i');
}

/** Hidden files and anything under a folder whose name starts with `_` are not inputs. */
function isImageEntry(key: string, filter: RegExp): boolean {
  const name = key.split('/').pop() ?? '';
  if (name.startsWith('.') || key.split('/').some((part) => part.startsWith('_'))) return false;
  return filter.test(key);
}

async function noImagesError(input: Storage, listed: number, glob: string | undefined): Promise<EmptyInputError> {
  if (listed === 0 && !(await input.exists(''))) {
    return new EmptyInputError(`input ${input.uri} does not exist: check the path (a folder of class sub-folders, or s3://bucket/prefix)`);
  }
  return new EmptyInputError(
    listed === 0
      ? `input ${input.uri} is empty: expected one sub-folder per class holding images`
      : `input ${input.uri} holds ${listed} files but none matches ${glob ? `--glob ${glob}` : IMAGE_EXTENSIONS.map((e) => `*.${e}`).join(', ')}`,
  );
}

/**
 * Lists the input, keeps the images, sorts the keys (byte order, stable across machines) and cuts fixed-size
 * shards: the same input and options always give the same shards, which is what makes --resume exact.
 */
export async function planShards(input: Storage, spec: RunSpec): Promise<Plan> {
  const started = performance.now();
  const { shardSize, glob, labelFrom } = spec.options;
  const filter = imageFilter(glob);
  const entries: { key: string; size: number }[] = [];
  let listed = 0;
  for await (const entry of input.list()) {
    listed++;
    if (isImageEntry(entry.key, filter)) entries.push(entry);
  }
  if (entries.length === 0) throw await noImagesError(input, listed, glob);
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
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

/**
 * sha256 of what the shards hold (keys, labels, input sizes), recorded in the manifest: a finished run's plan is
 * removed with _tmp/ by the commit, and --resume re-plans it from the input; equal digests mean the same shards.
 */
export function planDigest(plan: Pick<Plan, 'shards'>): string {
  const hash = createHash('sha256');
  for (const s of plan.shards) hash.update(JSON.stringify([s.index, s.keys, s.labels, s.sizes])).update('\n');
  return hash.digest('hex');
}
