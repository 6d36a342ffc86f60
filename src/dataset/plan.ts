import type { ImageTableLayout } from '../storage/parquet-images.js';
import type { InputFormat, RunSpec } from './run-spec.js';

/**
 * Where a shard's images are when they are not one file each: a member range of one tar, or a row range of one
 * Parquet table. A shard never spans two files, so its identity (file + range) and its part name hold across
 * retries and resumes whatever else is in the input.
 */
export type ShardSource =
  | {
      format: 'tar';
      /** The tar's key under the input root. */
      file: string;
      /** Byte offset of each image member's data in the tar (the sizes are the shard's `sizes`). */
      offsets: number[];
      /** Members found unreadable while planning (cut short, damaged headers): position in the shard → why. */
      problems?: Record<string, string>;
    }
  | {
      format: 'parquet';
      file: string;
      /** The table's size in bytes, as listed: its footer is read from the end. */
      fileSize: number;
      /** The shard's first row in the table; its rows are `rowStart … rowStart + keys.length - 1`. */
      rowStart: number;
      /** Rows per row group of the whole table: which groups hold the shard's rows. */
      rowGroups: number[];
      layout: ImageTableLayout;
    };

/** One shard of a run's plan: the unit every stage works on and every part file is named after. */
export interface Shard {
  index: number;
  /** Relative keys under the input root, sorted. */
  keys: string[];
  labels: string[];
  /** Input file sizes in bytes, as listed (member sizes for a tar; 0 for Parquet rows, unknown until read). */
  sizes: number[];
  /** Absent: each key is a file under the input root. */
  source?: ShardSource;
}

/** The whole work list of a run, written to _tmp/plan.json so any worker or a resumed run sees the same shards. */
export interface Plan {
  spec: RunSpec;
  images: number;
  classes: string[];
  shards: Shard[];
  listMs: number;
  /** What the input held (absent in plans made before tar and Parquet inputs: files). */
  format?: Exclude<InputFormat, 'auto'>;
}
