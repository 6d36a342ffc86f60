import { Binary, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { tableToIPC } from 'apache-arrow';
import { Compression, Table as WasmTable, writeParquet, WriterPropertiesBuilder } from 'parquet-wasm';
import { pack as tarPack } from 'tar-stream';
import { DEFAULT_RUN_OPTIONS, IMAGE_EXTENSIONS, type LabelRule } from '../dataset/run-spec.js';
import { listParallel } from '../storage/list-parallel.js';
import { StorageError, type Storage } from '../storage/storage.js';
import { globToRegExp } from './glob.js';
import { labelFor } from './labels.js';
import { mapLimited } from './map-limited.js';
import { isImageEntry } from './plan.js';

export interface PackOptions {
  format: 'tar' | 'parquet';
  /** Images per output file (default 1000). */
  imagesPerFile?: number;
  /** Rows per Parquet row group (default 256): what a reader holds in memory at once. */
  rowGroupSize?: number;
  glob?: string;
  labelFrom?: LabelRule;
  /** Output files are `<prefix>-00000.tar` … (default "images"). */
  prefix?: string;
  onProgress?: (packed: number, total: number) => void;
}

export interface PackResult {
  images: number;
  files: string[];
  /** Inputs that could not be read, skipped (and why). */
  skipped: { path: string; message: string }[];
}

export const DEFAULT_IMAGES_PER_FILE = 1000;

/**
 * Packs a class-folder tree into WebDataset tar shards (`<path>.jpg` + `<path>.cls` holding the label) or Parquet
 * image tables (`path`, `label`, `bytes`), in sorted key order, `imagesPerFile` images per file: the small-files
 * problem fixed with the same listing and labels `fruits extract` uses, so extracting the packed files gives the
 * folder's features. Each output file is assembled in memory (bounded by `imagesPerFile`) and written atomically.
 */
export async function packImages(input: Storage, output: Storage, options: PackOptions): Promise<PackResult> {
  const perFile = options.imagesPerFile ?? DEFAULT_IMAGES_PER_FILE;
  const labelFrom = options.labelFrom ?? DEFAULT_RUN_OPTIONS.labelFrom;
  const filter = options.glob ? globToRegExp(options.glob) : new RegExp(`\\.(${IMAGE_EXTENSIONS.join('|')})$`, 'i');
  const prefix = options.prefix ?? 'images';
  const entries = (await listParallel(input)).filter((e) => isImageEntry(e.key, filter)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (entries.length === 0) throw new StorageError(`${input.uri} holds no images to pack (${IMAGE_EXTENSIONS.map((e) => `*.${e}`).join(', ')})`);
  for await (const existing of output.list()) {
    if (existing.key.startsWith(`${prefix}-`)) throw new StorageError(`${output.uri} already holds ${existing.key}: pack into an empty folder`);
  }
  const files: string[] = [];
  const skipped: PackResult['skipped'] = [];
  let packed = 0;
  for (let start = 0, n = 0; start < entries.length; start += perFile, n++) {
    const slice = entries.slice(start, start + perFile);
    const read = await mapLimited(slice, 16, (e) => input.read(e.key).catch((error: Error) => error));
    const images: { path: string; label: string; bytes: Buffer }[] = [];
    slice.forEach((e, i) => {
      const bytes = read[i];
      if (bytes instanceof Error) skipped.push({ path: e.key, message: bytes.message });
      else images.push({ path: e.key, label: labelFor(e.key, labelFrom), bytes });
    });
    const name = `${prefix}-${String(n).padStart(5, '0')}.${options.format}`;
    await output.write(name, options.format === 'tar' ? await tarOf(images) : tableOf(images, options.rowGroupSize ?? 256));
    files.push(name);
    packed += slice.length;
    options.onProgress?.(packed, entries.length);
  }
  return { images: entries.length - skipped.length, files, skipped };
}

/** One tar: per image its bytes under its path and `<path minus extension>.cls` with the label. */
async function tarOf(images: { path: string; label: string; bytes: Buffer }[]): Promise<Buffer> {
  const tar = tarPack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk: unknown) => void chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    tar.on('end', () => resolve());
    tar.on('error', reject);
  });
  // A fixed mtime: packing the same folder twice gives the same bytes (and so the same plan and fingerprinted run).
  const mtime = new Date(0);
  for (const image of images) {
    await entry(tar, { name: image.path, size: image.bytes.length, mtime }, image.bytes);
    const label = Buffer.from(image.label);
    await entry(tar, { name: `${image.path.replace(/\.[^./]*$/, '')}.cls`, size: label.length, mtime }, label);
  }
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}

function entry(tar: ReturnType<typeof tarPack>, header: { name: string; size: number; mtime: Date }, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => tar.entry(header, body, (error) => (error ? reject(error) : resolve())));
}

/** One Parquet table: `path`, `label` (strings, dictionary-encoded) and `bytes` (binary, not re-compressed). */
function tableOf(images: { path: string; label: string; bytes: Buffer }[], rowGroupSize: number): Uint8Array {
  const table = new Table({
    path: vectorFromArray(
      images.map((i) => i.path),
      new Utf8(),
    ),
    label: vectorFromArray(
      images.map((i) => i.label),
      new Utf8(),
    ),
    bytes: vectorFromArray(
      images.map((i) => new Uint8Array(i.bytes.buffer, i.bytes.byteOffset, i.bytes.byteLength)),
      new Binary(),
    ),
  });
  const properties = new WriterPropertiesBuilder()
    .setCompression(Compression.SNAPPY)
    .setCreatedBy('fruits pack')
    .setMaxRowGroupSize(rowGroupSize)
    .setDictionaryEnabled(false)
    .setColumnDictionaryEnabled('path', true)
    .setColumnDictionaryEnabled('label', true)
    // JPEG and PNG bytes do not compress: Snappy would only cost time on read.
    .setColumnCompression('bytes', Compression.UNCOMPRESSED)
    .build();
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), properties);
}
