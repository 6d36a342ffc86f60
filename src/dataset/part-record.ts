import { createHash } from 'node:crypto';
import type { Table } from 'apache-arrow';
import type { Storage } from '../storage/storage.js';
import { DamagedPartError } from './errors.js';
import { decodeParquet, parquetRowCount } from './parquet.js';

/**
 * What a Parquet part of a run was when it was written: rows, size and sha256 of its bytes. Recorded in the
 * shard's featurize marker (features, errors) and in the manifest at commit (every part), so a part that is lost,
 * cut short or altered afterwards is found by comparing, not trusted because a marker or _SUCCESS exists.
 */
export interface PartRecord {
  rows: number;
  bytes: number;
  sha256: string;
}

/** The record of bytes about to be written as a part with `rows` rows. */
export function recordOf(bytes: Uint8Array, rows: number): PartRecord {
  return { rows, bytes: bytes.length, sha256: sha256(bytes) };
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** What is wrong with one part of a run, in words a person can act on ("missing", "cut short: …"). */
export interface PartProblem {
  key: string;
  problem: string;
}

/**
 * Reads a part and compares it with what was recorded when it was written (any of rows, bytes, sha256 may be
 * unknown, e.g. for runs made before they were recorded: then it is only checked that the footer reads back).
 * Returns the problem, or the part's actual record when it is sound.
 */
export async function checkPart(storage: Storage, key: string, expected: Partial<PartRecord> = {}): Promise<PartProblem | { key: string; record: PartRecord }> {
  let bytes: Buffer;
  try {
    bytes = await storage.read(key);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Both storages set ENOENT for a missing file or key.
    if (code === 'ENOENT') return { key, problem: 'missing' };
    return { key, problem: `cannot be read (${(error as Error).message})` };
  }
  // Size first: a part cut short says so in one line, before the footer's own error text.
  if (expected.bytes !== undefined && bytes.length !== expected.bytes) {
    return { key, problem: `${bytes.length < expected.bytes ? 'cut short' : 'altered'}: ${bytes.length} bytes, ${expected.bytes} were written` };
  }
  let rows: number;
  try {
    rows = await parquetRowCount(bytes);
  } catch (error) {
    return { key, problem: `not a readable Parquet file (${errorText(error)})` };
  }
  if (expected.rows !== undefined && rows !== expected.rows) return { key, problem: `holds ${rows} rows, ${expected.rows} were written` };
  const record = { rows, bytes: bytes.length, sha256: sha256(bytes) };
  if (expected.sha256 !== undefined && record.sha256 !== expected.sha256)
    return { key, problem: `altered: its sha256 is ${record.sha256.slice(0, 12)}…, ${expected.sha256.slice(0, 12)}… was written` };
  return { key, record };
}

export function isProblem(result: PartProblem | { record: PartRecord }): result is PartProblem {
  return 'problem' in result;
}

/** Thrown when a part a stage needs does not read back (one class per file under errors/). */
export { DamagedPartError };

/**
 * Reads and decodes a part a stage needs (all columns or some). A part that does not read back is reported with
 * its full location, e.g. "/out/features/part-00001.parquet: not a readable Parquet file (Corrupt footer)",
 * rather than parquet-wasm's bare "Invalid Parquet file. Corrupt footer".
 */
export async function readPart(storage: Storage, key: string, columns?: string[]): Promise<Table> {
  const bytes = await storage.read(key);
  try {
    return decodeParquet(bytes, columns);
  } catch (error) {
    throw new DamagedPartError(`${location(storage, key)}: not a readable Parquet file (${errorText(error)}); fruits extract --resume redoes it`, {
      cause: error,
    });
  }
}

/** `<root>/<key>` for messages. */
export function location(storage: Storage, key: string): string {
  return `${storage.uri.replace(/\/+$/, '')}/${key}`;
}

/** parquet-wasm throws strings as well as Errors. */
function errorText(error: unknown): string {
  return String((error as Error)?.message ?? error).replace(/^Parquet error: /, '');
}
