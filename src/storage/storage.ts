/** One object (file) under a storage root; `key` is relative to the root and uses '/' separators. */
export interface StorageEntry {
  key: string;
  size: number;
}

/**
 * The one interface every stage reads and writes through, so a stage never knows whether it runs against a
 * local folder or a bucket. Keys are relative to the root the storage was opened on.
 */
export interface Storage {
  /** The root as the user wrote it (path or s3:// URI), for messages and the manifest. */
  readonly uri: string;
  /** Every object under `prefix` (recursive), in no particular order. */
  list(prefix?: string): AsyncIterable<StorageEntry>;
  /**
   * One level under `prefix` (a folder, '' for the root): its files and the names of its sub-folders (each ending in
   * '/', relative to the root). Why: the planner lists class folders side by side, which one recursive listing
   * cannot do (S3 pages are sequential).
   */
  listLevel(prefix?: string): Promise<{ files: StorageEntry[]; folders: string[] }>;
  read(key: string): Promise<Buffer>;
  /**
   * Bytes `start` (inclusive) to `end` (exclusive) of one object, fewer if the object ends first. Why: tar members
   * and Parquet row groups are read where they lie, so a shard of a 10 GB tar never loads the whole tar.
   */
  readRange(key: string, start: number, end: number): Promise<Buffer>;
  /** Atomic: readers see the whole object or none of it, never a partial write. */
  write(key: string, data: Uint8Array | string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Deletes one object; no error if it is absent. */
  delete(key: string): Promise<void>;
  /** Deletes every object under `prefix`. */
  deletePrefix(prefix: string): Promise<void>;
}

/** The error every Storage method raises for a root or key it cannot use (one class per file under errors/). */
export { StorageError } from './errors.js';
