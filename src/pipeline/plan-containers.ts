import type { Plan, Shard } from '../dataset/plan.js';
import type { RunOptions } from '../dataset/run-spec.js';
import { indexImageTable } from '../storage/parquet-images.js';
import type { Storage, StorageEntry } from '../storage/storage.js';
import { indexTar, type TarMember } from '../storage/tar.js';
import { labelFor } from './labels.js';
import { mapLimited } from './map-limited.js';
import type { PlanProgress } from './plan-progress.js';

/** Tars or tables indexed at once while planning: each is a chain of ranged reads, so they overlap well. */
const INDEX_CONCURRENCY = 8;

/**
 * The shards of a WebDataset tar or Parquet image-table input. Every file is indexed (tar headers; Parquet footer and
 * path/label columns) and cut into shards of at most `shardSize` images in file order; files are taken in key order.
 * Shard identity = file + member/row range, so the plan is a pure function of the input's bytes and the options.
 */
export async function planContainers(
  input: Storage,
  files: StorageEntry[],
  format: 'tar' | 'parquet',
  options: RunOptions,
  filter: RegExp,
  onProgress?: (progress: PlanProgress) => void,
): Promise<Pick<Plan, 'images' | 'classes' | 'shards'>> {
  let filesDone = 0;
  let images = 0;
  const perFile = await mapLimited(files, INDEX_CONCURRENCY, async (file) => {
    const shards = format === 'tar' ? await tarShards(input, file, options, filter) : await parquetShards(input, file, options);
    filesDone++;
    images += shards.reduce((n, s) => n + s.keys.length, 0);
    onProgress?.({ phase: 'index', format, files: files.length, filesDone, images });
    return shards;
  });
  const shards: Shard[] = [];
  const classes = new Set<string>();
  for (const list of perFile) {
    for (const shard of list) {
      shard.index = shards.length;
      shard.labels.forEach((l) => classes.add(l));
      shards.push(shard);
    }
  }
  return { images, classes: [...classes].sort(), shards };
}

/** `dir/key.ext` → WebDataset's sample key `dir/key` (up to the first dot of the base name). */
export function sampleKey(name: string): string {
  const slash = name.lastIndexOf('/');
  const dot = name.indexOf('.', slash + 1);
  return dot === -1 ? name : name.slice(0, dot);
}

function isLabelMember(name: string): boolean {
  return /\.(cls|json)$/i.test(name);
}

/**
 * The label WebDataset keeps beside an image: `<stem>.cls` or `<key>.cls` (text: a class name or index), else
 * `<stem>.json` / `<key>.json` with a `label`, `class` or `cls` field. Undefined when there is none.
 */
function memberLabel(image: string, byName: Map<string, TarMember>): string | undefined {
  const stem = image.replace(/\.[^./]*$/, '');
  const key = sampleKey(image);
  for (const base of stem === key ? [stem] : [stem, key]) {
    const cls = byName.get(`${base}.cls`)?.data;
    if (cls) return cls.toString('utf8').trim();
    const json = byName.get(`${base}.json`)?.data;
    if (json) {
      try {
        const value = JSON.parse(json.toString('utf8')) as Record<string, unknown>;
        const found = value?.label ?? value?.class ?? value?.cls;
        if (typeof found === 'string' || typeof found === 'number') return String(found);
      } catch {
        // Not JSON: no label from it; the --label-from rule applies.
      }
    }
  }
  return undefined;
}

async function tarShards(input: Storage, file: StorageEntry, options: RunOptions, filter: RegExp): Promise<Shard[]> {
  const index = await indexTar(input, file.key, file.size, { keep: isLabelMember });
  const byName = new Map(index.members.map((m) => [m.name, m]));
  const images = index.members.filter((m) => filter.test(m.name) && !m.name.split('/').some((p) => p.startsWith('.')));
  const rows = images.map((m) => ({
    key: `${file.key}/${m.name}`,
    label: memberLabel(m.name, byName) ?? labelFor(m.name, options.labelFrom),
    offset: m.offset,
    size: m.size,
    problem: m.problem,
  }));
  // A damaged header hides the rest of the tar: one row says so, in errors/ like any bad image.
  if (index.damage) rows.push({ key: `${file.key}@${index.damage.offset}`, label: '', offset: index.damage.offset, size: 0, problem: index.damage.message });
  const shards: Shard[] = [];
  for (let start = 0; start < rows.length; start += options.shardSize) {
    const slice = rows.slice(start, start + options.shardSize);
    const problems: Record<string, string> = {};
    slice.forEach((r, i) => r.problem && (problems[String(i)] = r.problem));
    shards.push({
      index: 0,
      keys: slice.map((r) => r.key),
      labels: slice.map((r) => r.label),
      sizes: slice.map((r) => r.size),
      source: { format: 'tar', file: file.key, offsets: slice.map((r) => r.offset), ...(Object.keys(problems).length > 0 ? { problems } : {}) },
    });
  }
  return shards;
}

async function parquetShards(input: Storage, file: StorageEntry, options: RunOptions): Promise<Shard[]> {
  const table = await indexImageTable(input, file.key, file.size);
  const shards: Shard[] = [];
  const rows = table.paths.length;
  for (let start = 0; start < rows; start += options.shardSize) {
    const end = Math.min(rows, start + options.shardSize);
    const keys: string[] = [];
    const labels: string[] = [];
    for (let row = start; row < end; row++) {
      const path = table.paths[row];
      keys.push(path ?? `${file.key}#${row}`);
      labels.push(table.labels[row] ?? (path ? labelFor(path, options.labelFrom) : ''));
    }
    shards.push({
      index: 0,
      keys,
      labels,
      sizes: new Array<number>(keys.length).fill(0),
      source: { format: 'parquet', file: file.key, fileSize: file.size, rowStart: start, rowGroups: table.rowGroups, layout: table.layout },
    });
  }
  return shards;
}
