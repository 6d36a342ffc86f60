import { layout } from '../dataset/layout.js';
import type { Manifest } from '../dataset/manifest.js';
import { parquetRowCount } from '../dataset/parquet.js';
import { checkPart, isProblem, sha256, type PartProblem, type PartRecord } from '../dataset/part-record.js';
import { pcaModelFromJson } from '../pca/pca-model.js';
import type { Storage } from '../storage/storage.js';
import { mapLimited, READ_CONCURRENCY } from './map-limited.js';

/** What `verifyRun` found: every part of a finished run compared with its manifest. */
export interface Verification {
  /** Parts checked (features, results, errors parts and pca/model.json). */
  checked: number;
  /** Feature rows in the parts that checked out. */
  rows: number;
  /** Bytes read. */
  bytes: number;
  problems: PartProblem[];
  /** Shards whose features or errors part is missing or damaged: they must be featurized again. */
  refeaturize: number[];
  /** Shards whose results part alone is missing or damaged: projecting them again is enough. */
  reproject: number[];
  /** pca/model.json is missing or damaged. */
  pcaDamaged: boolean;
  /** False for runs made before parts were recorded: then only footers and the total of rows could be checked. */
  recorded: boolean;
  /** Wall time of the check. */
  ms: number;
}

/**
 * Reads every part of a finished run and compares it with what the commit recorded: each part must be there, with
 * the recorded size, a footer that reads back with the recorded rows, and the recorded sha256; pca/model.json too.
 * Nothing is changed. Reads the whole run once: 47 features parts of 512 × 1280 floats and their results (k = 100),
 * 133 MB, took 0.75-0.83 s (a synthetic run of that shape, 2 tries, on a loaded 2-core machine); the cheap check
 * `listedProblems` took 15-26 ms.
 */
export async function verifyRun(output: Storage, manifest: Manifest): Promise<Verification> {
  const started = performance.now();
  const shards: { shard: number; features?: PartRecord; results?: PartRecord; errors?: PartRecord }[] =
    manifest.parts ?? Array.from({ length: manifest.counts.shards }, (_, shard) => ({ shard }));
  const problems: PartProblem[] = [];
  let checked = 0;
  let rows = 0;
  let bytes = 0;
  const refeaturize = new Set<number>();
  const reproject = new Set<number>();
  const check = async (key: string, expected: Partial<PartRecord> | undefined): Promise<boolean> => {
    const result = await checkPart(output, key, expected);
    checked++;
    if (isProblem(result)) {
      problems.push(result);
      return false;
    }
    bytes += result.record.bytes;
    return true;
  };
  await mapLimited(shards, READ_CONCURRENCY, async (s) => {
    const features = await check(layout.features(s.shard), s.features);
    const errors = s.errors ? await check(layout.errors(s.shard), s.errors) : true;
    const results = await check(layout.results(s.shard), s.results ?? (s.features ? { rows: s.features.rows } : undefined));
    if (!features || !errors) refeaturize.add(s.shard);
    else if (!results) reproject.add(s.shard);
    if (features) rows += s.features?.rows ?? 0;
  });
  if (!manifest.parts) {
    // No per-part rows to compare: the rows of all features parts must add up to the manifest's count.
    let total = 0;
    for (let shard = 0; shard < manifest.counts.shards; shard++) {
      if (refeaturize.has(shard)) continue;
      total += await parquetRowCount(await output.read(layout.features(shard)));
    }
    rows = total;
    if (refeaturize.size === 0 && total !== manifest.counts.features) {
      problems.push({ key: layout.folders.features, problem: `holds ${total} rows, the manifest counts ${manifest.counts.features}` });
    }
  }
  const pcaDamaged = !(await checkPcaModel(output, manifest, problems));
  checked++;
  problems.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    checked,
    rows,
    bytes,
    problems,
    refeaturize: [...refeaturize].sort((a, b) => a - b),
    reproject: [...reproject].sort((a, b) => a - b),
    pcaDamaged,
    recorded: Boolean(manifest.parts),
    ms: performance.now() - started,
  };
}

async function checkPcaModel(output: Storage, manifest: Manifest, problems: PartProblem[]): Promise<boolean> {
  const key = layout.pcaModel;
  let file: Buffer;
  try {
    file = await output.read(key);
  } catch (error) {
    problems.push({ key, problem: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `cannot be read (${(error as Error).message})` });
    return false;
  }
  const recorded = manifest.pcaModelFile;
  if (recorded && (file.length !== recorded.bytes || sha256(file) !== recorded.sha256)) {
    problems.push({ key, problem: `altered: ${file.length} bytes, ${recorded.bytes} were written${file.length === recorded.bytes ? ' (other sha256)' : ''}` });
    return false;
  }
  try {
    pcaModelFromJson(file.toString());
  } catch (error) {
    problems.push({ key, problem: `not a readable PCA model (${(error as Error).message})` });
    return false;
  }
  return true;
}

/**
 * The cheap check of a finished run, from one listing and no reads: every part the manifest records is there with
 * its recorded size. Finds a deleted or truncated part (not one altered in place: that takes `verifyRun`).
 * Empty for runs made before parts were recorded.
 */
export async function listedProblems(output: Storage, manifest: Manifest): Promise<PartProblem[]> {
  if (!manifest.parts) return [];
  const listed = new Map<string, number>();
  const { features, results, errors, pca } = layout.folders;
  for (const prefix of [features, results, errors, pca]) for await (const entry of output.list(prefix)) listed.set(entry.key, entry.size);
  const expected: [string, number][] = manifest.parts.flatMap((s) => [
    [layout.features(s.shard), s.features.bytes] as [string, number],
    [layout.results(s.shard), s.results.bytes] as [string, number],
    ...(s.errors ? [[layout.errors(s.shard), s.errors.bytes] as [string, number]] : []),
  ]);
  if (manifest.pcaModelFile) expected.push([layout.pcaModel, manifest.pcaModelFile.bytes]);
  const problems: PartProblem[] = [];
  for (const [key, bytes] of expected) {
    const size = listed.get(key);
    if (size === undefined) problems.push({ key, problem: 'missing' });
    else if (size !== bytes) problems.push({ key, problem: `${size < bytes ? 'cut short' : 'altered'}: ${size} bytes, ${bytes} were written` });
  }
  return problems.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
