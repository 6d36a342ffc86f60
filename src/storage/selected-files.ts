import { StorageError } from './errors.js';
import type { Storage, StorageEntry } from './storage.js';

/** Brace patterns expand to at most this many names: a typo such as {0..99999999} is refused, not listed. */
const MAX_EXPANDED = 1_000_000;

/**
 * Expands WebDataset-style brace patterns: `train-{00000..00999}.tar` (zero-padded to the start's width),
 * `{train,val}/shard-{0..9}.tar` (lists and ranges, any number of groups, no nesting). Names come out in pattern order.
 */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open === -1) return [pattern];
  const close = pattern.indexOf('}', open);
  if (close === -1) throw new StorageError(`unbalanced "{" in ${pattern}`);
  const body = pattern.slice(open + 1, close);
  if (body.includes('{')) throw new StorageError(`nested braces are not supported: ${pattern}`);
  let options: string[];
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(body);
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    const width = range[1].replace('-', '').length;
    const step = from <= to ? 1 : -1;
    if (Math.abs(to - from) + 1 > MAX_EXPANDED) throw new StorageError(`${pattern} names more than ${MAX_EXPANDED} files`);
    options = [];
    for (let n = from; step > 0 ? n <= to : n >= to; n += step)
      options.push(
        String(Math.abs(n))
          .padStart(width, '0')
          .replace(/^/, n < 0 ? '-' : ''),
      );
  } else {
    options = body.split(',');
  }
  const rest = expandBraces(pattern.slice(close + 1));
  const out: string[] = [];
  for (const option of options) for (const tail of rest) out.push(`${pattern.slice(0, open)}${option}${tail}`);
  if (out.length > MAX_EXPANDED) throw new StorageError(`${pattern} names more than ${MAX_EXPANDED} files`);
  return out;
}

/**
 * Some files of a storage root, named one by one (a brace pattern, or one .tar/.parquet file given as the input):
 * the input of a run as a Storage, so planning and every stage read it like a folder. Keys stay relative to the root
 * (`train-00000.tar`). `uri` is the pattern as written: what the run's fingerprint and manifest record.
 */
export class SelectedFiles implements Storage {
  constructor(
    readonly uri: string,
    private readonly root: Storage,
    private readonly names: string[],
  ) {}

  async *list(prefix = ''): AsyncIterable<StorageEntry> {
    for (const entry of await this.entries())
      if (prefix === '' || entry.key === prefix || entry.key.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)) yield entry;
  }

  async listLevel(prefix = ''): Promise<{ files: StorageEntry[]; folders: string[] }> {
    const files: StorageEntry[] = [];
    for await (const entry of this.list(prefix)) files.push(entry);
    return { files, folders: [] };
  }

  /**
   * The named files with their sizes: one listing per folder they are in (not one request per file). A name that
   * does not exist stops the run with the first few missing, as a typo in a pattern should.
   */
  private async entries(): Promise<StorageEntry[]> {
    const byFolder = new Map<string, string[]>();
    for (const name of this.names) {
      const folder = name.includes('/') ? name.slice(0, name.lastIndexOf('/') + 1) : '';
      byFolder.set(folder, [...(byFolder.get(folder) ?? []), name]);
    }
    const sizes = new Map<string, number>();
    for (const folder of byFolder.keys()) {
      for (const file of (await this.root.listLevel(folder)).files) sizes.set(file.key, file.size);
    }
    const missing = this.names.filter((n) => !sizes.has(n));
    if (missing.length > 0) {
      throw new StorageError(
        `${this.uri} names ${missing.length} file(s) that do not exist under ${this.root.uri}: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}`,
      );
    }
    return this.names.map((key) => ({ key, size: sizes.get(key)! }));
  }

  read(key: string): Promise<Buffer> {
    return this.root.read(key);
  }
  readRange(key: string, start: number, end: number): Promise<Buffer> {
    return this.root.readRange(key, start, end);
  }
  write(key: string, data: Uint8Array | string): Promise<void> {
    return this.root.write(key, data);
  }
  exists(key: string): Promise<boolean> {
    return key === '' ? this.root.exists('') : this.root.exists(key);
  }
  delete(key: string): Promise<void> {
    return this.root.delete(key);
  }
  deletePrefix(prefix: string): Promise<void> {
    return this.root.deletePrefix(prefix);
  }
}

/**
 * Splits an input URI that names files rather than a folder: one with `{…}` (brace pattern) or whose last segment
 * ends in .tar or .parquet. Returns the folder to open and the names under it, or undefined for a plain folder.
 */
export function selectedFilesOf(uri: string): { root: string; names: string[] } | undefined {
  const trimmed = uri.replace(/\/+$/, '');
  const brace = trimmed.indexOf('{');
  const names = brace !== -1 || (/\.(tar|parquet)$/i.test(trimmed) && trimmed === uri);
  if (!names) return undefined;
  const cut = trimmed.lastIndexOf('/', brace === -1 ? trimmed.length : brace);
  const s3 = uri.startsWith('s3://');
  if (!s3 && cut === -1) return { root: '.', names: expandBraces(trimmed) };
  const minimum = s3 ? uri.indexOf('/', 5) : 0;
  if (cut < minimum || (s3 && minimum === -1))
    throw new StorageError(`${uri}: give the folder or bucket the files are in, e.g. s3://bucket/train-{0..9}.tar or ./shards/train-{0..9}.tar`);
  const root = trimmed.slice(0, cut) || '/';
  return { root: s3 && !root.slice(5).includes('/') ? `${root}/` : root, names: expandBraces(trimmed.slice(cut + 1)) };
}
