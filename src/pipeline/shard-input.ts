import type { Shard } from '../dataset/plan.js';
import { ImageTableReader } from '../storage/parquet-images.js';
import type { Storage } from '../storage/storage.js';
import { ShardInputError } from './errors.js';

/** The bytes of a shard's images, batch by batch, wherever they are stored (files, tar members, Parquet rows). */
export interface ShardReader {
  /** Bytes of images `start … end - 1` of the shard, in order; an image that cannot be read is its error. */
  read(start: number, end: number): Promise<(Buffer | Error)[]>;
  close(): Promise<void>;
}

/**
 * Tar members read in one range request while the span of consecutive members stays under this: a batch of small
 * images is one request (S3: one GET instead of 16), a batch of 5 MB images a few, and memory stays bounded.
 */
const TAR_WINDOW_BYTES = 16 * 1024 * 1024;

export function openShardReader(input: Storage, shard: Shard): ShardReader {
  const source = shard.source;
  if (!source) {
    return {
      read: (start, end) => Promise.all(shard.keys.slice(start, end).map((key) => input.read(key).catch((error: Error) => error))),
      close: async () => {},
    };
  }
  if (source.format === 'tar') {
    return {
      async read(start, end) {
        const out: (Buffer | Error)[] = new Array(end - start);
        const wanted: number[] = [];
        for (let i = start; i < end; i++) {
          const problem = source.problems?.[String(i)];
          if (problem) out[i - start] = new ShardInputError(problem);
          else wanted.push(i);
        }
        // Consecutive members grouped into windows, one ranged read each.
        const windows: number[][] = [];
        for (const i of wanted) {
          const last = windows.at(-1);
          if (last && source.offsets[i] + shard.sizes[i] - source.offsets[last[0]] <= TAR_WINDOW_BYTES && source.offsets[i] >= source.offsets[last.at(-1)!])
            last.push(i);
          else windows.push([i]);
        }
        await Promise.all(
          windows.map(async (members) => {
            const from = source.offsets[members[0]];
            const to = Math.max(...members.map((i) => source.offsets[i] + shard.sizes[i]));
            let bytes: Buffer;
            try {
              bytes = await input.readRange(source.file, from, to);
            } catch (error) {
              for (const i of members) out[i - start] = error as Error;
              return;
            }
            for (const i of members) {
              const at = source.offsets[i] - from;
              const member = bytes.subarray(at, at + shard.sizes[i]);
              out[i - start] =
                member.length === shard.sizes[i]
                  ? member
                  : new ShardInputError(
                      `tar member cut short: ${member.length} of ${shard.sizes[i]} bytes at byte ${source.offsets[i]} of ${source.file} (did the tar change since planning?)`,
                    );
            }
          }),
        );
        return out;
      },
      close: async () => {},
    };
  }
  const table = new ImageTableReader(input, source.file, source.fileSize, source.layout, source.rowGroups);
  return {
    async read(start, end) {
      let rows: (Buffer | null)[];
      try {
        rows = await table.rows(source.rowStart + start, source.rowStart + end);
      } catch (error) {
        return new Array<Error>(end - start).fill(error as Error);
      }
      return rows.map((bytes, i) => bytes ?? new ShardInputError(`row ${source.rowStart + start + i} of ${source.file} has no image bytes (null)`));
    },
    close: () => table.close(),
  };
}
