/**
 * One image of a run's input, read again by the path its parts record, whatever the input was stored as: a file's
 * key, `<tar>/<member>` for a WebDataset tar, and for a Parquet image table the row's path (or `<table>#<row>`
 * when the table has no path column). `fruits train` reads the reference images this way (augmentation,
 * calibration); featurize reads whole shards through the plan instead (shard-input.ts), which is gone once a
 * run is committed.
 *
 * @module
 */
import { ImageTableReader, indexImageTable, type ImageTableLayout } from '../storage/parquet-images.js';
import { StorageError } from '../storage/errors.js';
import type { Storage } from '../storage/storage.js';
import { indexTar, readTarMember, type TarMember } from '../storage/tar.js';
import { mapLimited, READ_CONCURRENCY } from './map-limited.js';

interface TableRow {
  key: string;
  row: number;
}

interface Table {
  size: number;
  layout: ImageTableLayout;
  rowGroups: number[];
  paths: (string | null)[];
}

export class InputImages {
  private listing?: Promise<Map<string, number>>;
  private readonly tars = new Map<string, Promise<Map<string, TarMember>>>();
  private tables?: Promise<{ byKey: Map<string, Table>; byPath: Map<string, TableRow> }>;
  private readonly readers = new Map<string, ImageTableReader>();

  constructor(private readonly input: Storage) {}

  /** The image's bytes; an error naming the path when the input no longer holds it. */
  async read(path: string): Promise<Buffer> {
    const tar = /^(.*?\.tar)\/(.+)$/i.exec(path);
    if (tar && (await this.sizes()).has(tar[1])) return this.member(tar[1], tar[2], path);
    const numbered = /^(.*?\.parquet)#(\d+)$/i.exec(path);
    if (numbered && (await this.sizes()).has(numbered[1])) return this.row({ key: numbered[1], row: Number(numbered[2]) }, path);
    try {
      return await this.input.read(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // Not a file: a row of an image table whose path column holds it (Hugging Face, Spark binaryFile layouts).
      const found = (await this.tableIndex()).byPath.get(path);
      if (!found) throw error;
      return this.row(found, path);
    }
  }

  /** Lets go of the tables' row groups read so far; the listing and the indexes stay for later reads. */
  async close(): Promise<void> {
    await Promise.all([...this.readers.values()].map((r) => r.close()));
    this.readers.clear();
  }

  /** Every object under the input and its size, listed once (tar and table reads need their size). */
  private sizes(): Promise<Map<string, number>> {
    this.listing ??= (async () => {
      const sizes = new Map<string, number>();
      for await (const entry of this.input.list()) sizes.set(entry.key, entry.size);
      return sizes;
    })();
    return this.listing;
  }

  private async member(tarKey: string, name: string, path: string): Promise<Buffer> {
    let members = this.tars.get(tarKey);
    if (!members) {
      members = (async () => {
        const index = await indexTar(this.input, tarKey, (await this.sizes()).get(tarKey)!);
        return new Map(index.members.map((m) => [m.name, m]));
      })();
      this.tars.set(tarKey, members);
    }
    const member = (await members).get(name);
    if (!member) throw notFound(`${this.input.uri}/${path}: no member ${name} in ${tarKey}`);
    if (member.problem) throw notFound(`${this.input.uri}/${path}: ${member.problem}`);
    return readTarMember(this.input, tarKey, member);
  }

  private tableIndex(): Promise<{ byKey: Map<string, Table>; byPath: Map<string, TableRow> }> {
    this.tables ??= (async () => {
      const keys = [...(await this.sizes())].filter(([key]) => /\.parquet$/i.test(key)).sort(([a], [b]) => (a < b ? -1 : 1));
      const indexed = await mapLimited(keys, READ_CONCURRENCY, async ([key, size]) => ({ key, size, ...(await indexImageTable(this.input, key, size)) }));
      const byKey = new Map<string, Table>();
      const byPath = new Map<string, TableRow>();
      for (const t of indexed) {
        byKey.set(t.key, t);
        t.paths.forEach((p, row) => p !== null && !byPath.has(p) && byPath.set(p, { key: t.key, row }));
      }
      return { byKey, byPath };
    })();
    return this.tables;
  }

  private async row({ key, row }: TableRow, path: string): Promise<Buffer> {
    let reader = this.readers.get(key);
    if (!reader) {
      const table = (await this.tableIndex()).byKey.get(key)!;
      reader = new ImageTableReader(this.input, key, table.size, table.layout, table.rowGroups);
      this.readers.set(key, reader);
    }
    const [bytes] = await reader.rows(row, row + 1);
    if (!bytes) throw notFound(`${this.input.uri}/${path}: row ${row} of ${key} holds no image bytes`);
    return bytes;
  }
}

/** ENOENT, as a missing file reads: callers that skip a reference that is gone treat all three the same. */
function notFound(message: string): StorageError {
  return new StorageError(message, { code: 'ENOENT' });
}
