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
  read(key: string): Promise<Buffer>;
  /** Atomic: readers see the whole object or none of it, never a partial write. */
  write(key: string, data: Uint8Array | string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Deletes one object; no error if it is absent. */
  delete(key: string): Promise<void>;
  /** Deletes every object under `prefix`. */
  deletePrefix(prefix: string): Promise<void>;
}

/** A storage root that cannot be used at all (missing folder, no such bucket): the run stops before any work. */
export class StorageError extends Error {
  override name = 'StorageError';
}
