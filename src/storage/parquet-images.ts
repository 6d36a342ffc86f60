import { DataType, tableFromIPC, type Field, type Table } from 'apache-arrow';
import { ParquetFile } from 'parquet-wasm';
import { StorageError } from './errors.js';
import type { Storage } from './storage.js';

/**
 * Where the image bytes, the path and the label are in a Parquet image table. Column names as parquet-wasm selects
 * them (`image.bytes` for a field of a struct). Layouts recognised:
 * - Hugging Face image datasets: `image: struct<bytes: binary, path: string>`, `label` (int64 ClassLabel, whose
 *   names are in the `huggingface` key of the file metadata, or a string);
 * - Spark's `binaryFile` source: `path` (string), `content` (binary), `length`, `modificationTime`;
 * - plain tables, e.g. `fruits pack --format parquet`: `path` or `key`, `label`, `bytes` (binary).
 */
export interface ImageTableLayout {
  bytes: string;
  path?: string;
  label?: string;
  /** ClassLabel names: an integer label i means labelNames[i]. */
  labelNames?: string[];
}

export interface ImageTableIndex {
  layout: ImageTableLayout;
  /** Rows per row group, in file order. */
  rowGroups: number[];
  /** Per row: its path or key, null where the table has none. */
  paths: (string | null)[];
  /** Per row: its label as text, null where the table has no label column (the --label-from rule decides). */
  labels: (string | null)[];
}

const BYTES_NAMES = ['bytes', 'content', 'image', 'img', 'jpg', 'jpeg', 'png', 'webp'];
const PATH_NAMES = ['path', 'key', '__key__', 'file_name', 'filename', 'image_path'];
const LABEL_NAMES = ['label', 'labels', 'class', 'cls', 'category'];

/** An object read through ranged reads, shaped like the Blob parquet-wasm's async reader asks for. */
function rangeBlob(storage: Storage, key: string, size: number): Blob {
  const slice = (start = 0, end = size) => {
    const [from, to] = [start < 0 ? size + start : start, end < 0 ? size + end : Math.min(end, size)];
    return {
      size: Math.max(0, to - from),
      arrayBuffer: async () => {
        const bytes = await storage.readRange(key, from, to);
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      },
    };
  };
  return { size, slice } as unknown as Blob;
}

async function openTable(storage: Storage, key: string, size: number): Promise<ParquetFile> {
  try {
    return await ParquetFile.fromFile(rangeBlob(storage, key, size));
  } catch (error) {
    throw new StorageError(`${storage.uri}/${key} is not a readable Parquet file: ${(error as Error).message ?? error}`, { cause: error });
  }
}

function isBinary(field: Field): boolean {
  return DataType.isBinary(field.type) || DataType.isLargeBinary(field.type) || DataType.isFixedSizeBinary(field.type);
}

function isText(field: Field): boolean {
  return DataType.isUtf8(field.type) || DataType.isLargeUtf8(field.type);
}

/** Picks the layout from the schema; a table with no binary column is refused with what it holds. */
export function detectLayout(fields: Field[], metadata: Map<string, string>, where: string): ImageTableLayout {
  const byName = new Map(fields.map((f) => [f.name.toLowerCase(), f]));
  const pick = (names: string[], test: (f: Field) => boolean) => names.map((n) => byName.get(n)).find((f) => f && test(f));
  let bytes: string | undefined;
  let path: string | undefined;
  const struct = fields.find((f) => DataType.isStruct(f.type) && f.type.children.some((c: Field) => c.name === 'bytes' && isBinary(c)));
  if (struct) {
    bytes = `${struct.name}.bytes`;
    if (struct.type.children.some((c: Field) => c.name === 'path' && isText(c))) path = `${struct.name}.path`;
  }
  bytes ??=
    pick(BYTES_NAMES, isBinary)?.name ??
    fields
      .filter(isBinary)
      .map((f) => f.name)
      .at(0);
  if (!bytes) {
    throw new StorageError(
      `${where} has no column of image bytes (looked for a struct with a binary "bytes" field, or a binary column named ` +
        `${BYTES_NAMES.join(', ')}); its columns: ${fields.map((f) => `${f.name} ${f.type}`).join(', ')}`,
    );
  }
  path = pick(PATH_NAMES, isText)?.name ?? path;
  const labelField = pick(LABEL_NAMES, (f) => isText(f) || DataType.isInt(f.type));
  const layout: ImageTableLayout = { bytes, ...(path ? { path } : {}), ...(labelField ? { label: labelField.name } : {}) };
  if (labelField && DataType.isInt(labelField.type)) {
    const names = classLabelNames(metadata.get('huggingface'), labelField.name);
    if (names) layout.labelNames = names;
  }
  return layout;
}

/** The ClassLabel names Hugging Face `datasets` writes into the file metadata (`{"info": {"features": …}}`). */
function classLabelNames(json: string | undefined, column: string): string[] | undefined {
  if (!json) return undefined;
  try {
    const features = (JSON.parse(json) as { info?: { features?: Record<string, { names?: unknown }> } }).info?.features;
    const names = features?.[column]?.names;
    return Array.isArray(names) && names.every((n) => typeof n === 'string') ? (names as string[]) : undefined;
  } catch {
    return undefined;
  }
}

function labelText(value: unknown, names: string[] | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint' || typeof value === 'number') {
    const i = Number(value);
    return names?.[i] ?? String(i);
  }
  return String(value);
}

function column(table: Table, name: string): unknown[] {
  const [top, child] = name.split('.');
  const vector = table.getChild(top);
  if (!vector) return new Array(table.numRows).fill(null);
  const values: unknown[] = [];
  for (let i = 0; i < vector.length; i++) {
    const value = vector.get(i) as unknown;
    values.push(child ? ((value as Record<string, unknown> | null)?.[child] ?? null) : value);
  }
  return values;
}

/**
 * Reads a Parquet image table's footer and its path and label columns (never its image bytes: parquet-wasm reads
 * only the selected column chunks, through ranged reads), so the planner knows every row without loading images.
 */
export async function indexImageTable(storage: Storage, key: string, size: number): Promise<ImageTableIndex> {
  const file = await openTable(storage, key, size);
  try {
    const metadata = file.metadata();
    const fileMetadata = metadata.fileMetadata();
    const keyValue = new Map<string, string>([...fileMetadata.keyValueMetadata()].map(([k, v]) => [String(k), String(v)]));
    const rowGroups = metadata.rowGroups().map((g) => g.numRows());
    const schema = tableFromIPC(file.schema().intoIPCStream()).schema;
    const layout = detectLayout(schema.fields, keyValue, `${storage.uri}/${key}`);
    const columns = [layout.path, layout.label].filter((c): c is string => c !== undefined);
    const paths: (string | null)[] = [];
    const labels: (string | null)[] = [];
    for (let g = 0; g < rowGroups.length; g++) {
      if (columns.length === 0) {
        for (let i = 0; i < rowGroups[g]; i++) [paths, labels].forEach((list) => list.push(null));
        continue;
      }
      const table = tableFromIPC((await file.read({ rowGroups: [g], columns })).intoIPCStream());
      const p = layout.path ? column(table, layout.path) : [];
      const l = layout.label ? column(table, layout.label) : [];
      for (let i = 0; i < table.numRows; i++) {
        paths.push(layout.path && p[i] != null && p[i] !== '' ? String(p[i]) : null);
        labels.push(layout.label ? labelText(l[i], layout.labelNames) : null);
      }
    }
    return { layout, rowGroups, paths, labels };
  } finally {
    file.free();
  }
}

/**
 * The image bytes of rows [start, end) of one table, read row group by row group: at most one row group's bytes
 * column is held at a time (sequential reads hit it again), never the whole table. A row with no bytes is null.
 */
export class ImageTableReader {
  private file?: Promise<ParquetFile>;
  /** The row groups read or being read; batches read ahead ask for the same group at once. At most two kept. */
  private readonly groups = new Map<number, Promise<{ first: number; values: (Uint8Array | null)[] }>>();
  private readonly firstRows: number[];

  constructor(
    private readonly storage: Storage,
    private readonly key: string,
    private readonly size: number,
    private readonly layout: ImageTableLayout,
    private readonly rowGroups: number[],
  ) {
    let first = 0;
    this.firstRows = rowGroups.map((n) => ((first += n), first - n));
  }

  /** Bytes of rows [start, end), in order. */
  async rows(start: number, end: number): Promise<(Buffer | null)[]> {
    const out: (Buffer | null)[] = [];
    let row = start;
    while (row < end) {
      const group = this.groupOf(row);
      const cached = await this.load(group);
      const stop = Math.min(end, cached.first + cached.values.length);
      for (; row < stop; row++) {
        const value = cached.values[row - cached.first];
        out.push(value ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : null);
      }
    }
    return out;
  }

  async close(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    this.groups.clear();
    if (file) (await file.catch(() => undefined))?.free();
  }

  private groupOf(row: number): number {
    let lo = 0;
    let hi = this.firstRows.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.firstRows[mid] <= row) lo = mid;
      else hi = mid - 1;
    }
    if (row >= this.firstRows[lo] + this.rowGroups[lo]) throw new StorageError(`${this.storage.uri}/${this.key} has no row ${row}`);
    return lo;
  }

  private load(group: number): Promise<{ first: number; values: (Uint8Array | null)[] }> {
    let loading = this.groups.get(group);
    if (!loading) {
      loading = this.readGroup(group);
      this.groups.set(group, loading);
      if (this.groups.size > 2) this.groups.delete(this.groups.keys().next().value!);
      loading.catch(() => this.groups.delete(group));
    }
    return loading;
  }

  private async readGroup(group: number): Promise<{ first: number; values: (Uint8Array | null)[] }> {
    this.file ??= openTable(this.storage, this.key, this.size);
    const file = await this.file;
    const table = tableFromIPC((await file.read({ rowGroups: [group], columns: [this.layout.bytes] })).intoIPCStream());
    const values = column(table, this.layout.bytes) as (Uint8Array | null)[];
    if (values.length !== this.rowGroups[group]) {
      throw new StorageError(`${this.storage.uri}/${this.key}: row group ${group} has ${values.length} rows, its footer says ${this.rowGroups[group]}`);
    }
    return { first: this.firstRows[group], values };
  }
}
