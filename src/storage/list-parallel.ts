import type { Storage, StorageEntry } from './storage.js';

export interface ListProgress {
  /** Objects listed so far. */
  listed: number;
  /** Folders listed side by side, and how many of them are done. */
  folders: number;
  foldersDone: number;
}

export interface ParallelListOptions {
  /** Folders listed at once (default 16): S3 answers a page in ~50-100 ms whatever else is in flight. */
  concurrency?: number;
  /** Called at most every `progressEvery` objects, and once at the end. */
  onProgress?: (progress: ListProgress) => void;
  progressEvery?: number;
  /** How many levels to open, one listing per folder, looking for enough folders to list side by side (default 3). */
  maxDepth?: number;
}

export const DEFAULT_LIST_CONCURRENCY = 16;

/**
 * Every object under the root, listed folder by folder with `concurrency` folders in flight: the class folders of
 * an input (each one paginated through on its own, e.g. S3's 1000 keys per page) instead of one sequential listing
 * of the whole root. A root with fewer folders than `concurrency` is opened a level deeper first
 * (`s3://bucket/Test/` → its class prefixes). In no particular order, like `Storage.list`.
 */
export async function listParallel(storage: Storage, options: ParallelListOptions = {}): Promise<StorageEntry[]> {
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_LIST_CONCURRENCY);
  const every = options.progressEvery ?? 1000;
  const entries: StorageEntry[] = [];
  const progress: ListProgress = { listed: 0, folders: 0, foldersDone: 0 };
  let reported = 0;
  const report = (force = false) => {
    if (!options.onProgress) return;
    if (force || progress.listed - reported >= every) {
      reported = progress.listed;
      options.onProgress({ ...progress });
    }
  };
  const add = (entry: StorageEntry) => {
    entries.push(entry);
    progress.listed++;
    report();
  };

  let frontier = [''];
  for (let depth = 0; depth < (options.maxDepth ?? 3) && frontier.length > 0 && frontier.length < concurrency; depth++) {
    const levels = await inParallel(frontier, concurrency, (folder) => storage.listLevel(folder));
    frontier = [];
    for (const level of levels) {
      level.files.forEach(add);
      frontier.push(...level.folders);
    }
  }
  progress.folders = frontier.length;
  report(true);
  await inParallel(frontier, concurrency, async (folder) => {
    for await (const entry of storage.list(folder)) add(entry);
    progress.foldersDone++;
  });
  report(true);
  return entries;
}

async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}
