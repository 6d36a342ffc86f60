import { layout } from '../dataset/layout.js';
import type { Manifest } from '../dataset/manifest.js';
import { decodeParquet, readStringColumn, readVectorColumn } from '../dataset/parquet.js';
import { readRunStatus } from '../dataset/read-run.js';
import type { PcaModel } from '../pca/pca-model.js';
import type { Storage } from '../storage/storage.js';
import { RunNotReadyError } from './errors.js';
import { readPcaModel } from '../dataset/run-files.js';

/**
 * A finished run seen as labelled reference vectors: what the classifier learns from. Rows are in part order
 * (sorted part names, then row order inside a part), the same for `pca` and `features`.
 */
export interface ReferenceSet {
  manifest: Manifest;
  pca: PcaModel;
  /** Sorted class names; `labels[i]` indexes into it. */
  classes: string[];
  labels: Int32Array;
  paths: string[];
  /** rows × pca.k, the run's results/ vectors. */
  pcaVectors: Float32Array;
  /** rows × featureDim, only when loaded with `features: true` (evaluation compares both spaces). */
  features?: Float32Array;
  rows: number;
}

export interface LoadOptions {
  /** Also read the 1280-d features/ parts (~5 kB per image in memory). */
  features?: boolean;
}

/** Reads manifest, PCA model and every results part (and optionally features parts) of a finished run. */
export async function loadReferenceSet(run: Storage, options: LoadOptions = {}): Promise<ReferenceSet> {
  const status = await readRunStatus(run);
  if (status.state === 'absent') {
    throw new RunNotReadyError(`${run.uri} holds no fruits run (no manifest.json). Make one with \`fruits extract <images> ${run.uri}\`.`);
  }
  if (status.state === 'incomplete') {
    throw new RunNotReadyError(
      `${run.uri} is an unfinished run (no _SUCCESS: ${status.featurized}/${status.plan.shards.length} shards featurized). ` +
        `Finish it with \`fruits extract ${status.plan.spec.input} ${run.uri} --resume\`.`,
    );
  }
  const { manifest } = status;
  if (!(await run.exists(layout.pcaModel))) throw new RunNotReadyError(`${run.uri} has no ${layout.pcaModel}: the run is damaged; extract it again.`);
  const pca = await readPcaModel(run);

  const resultParts = await partKeys(run, 'results/');
  if (resultParts.length === 0) throw new RunNotReadyError(`${run.uri} has no results/ parts: the run holds no image vectors.`);
  const results = await Promise.all(resultParts.map(async (key) => decodeParquet(await run.read(key), ['path', 'label', 'pca'])));
  const rows = results.reduce((s, t) => s + t.numRows, 0);
  const pcaVectors = new Float32Array(rows * pca.k);
  const paths: string[] = [];
  const labelNames: string[] = [];
  let row = 0;
  for (const table of results) {
    if (table.numRows === 0) continue;
    const { values, dim } = readVectorColumn(table, 'pca');
    if (dim !== pca.k) throw new RunNotReadyError(`${run.uri}: results vectors have ${dim} values, the PCA model has k = ${pca.k}`);
    pcaVectors.set(values, row * pca.k);
    paths.push(...readStringColumn(table, 'path'));
    labelNames.push(...readStringColumn(table, 'label'));
    row += table.numRows;
  }

  const classes = [...new Set(labelNames)].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  const labels = Int32Array.from(labelNames, (l) => index.get(l)!);
  const set: ReferenceSet = { manifest, pca, classes, labels, paths, pcaVectors, rows };
  if (options.features) set.features = await loadFeatures(run, paths, manifest.model.featureDim);
  return set;
}

/** The features/ parts, reordered to the results' row order by path (parts are written per shard alike). */
async function loadFeatures(run: Storage, paths: string[], dim: number): Promise<Float32Array> {
  const keys = await partKeys(run, 'features/');
  const out = new Float32Array(paths.length * dim);
  const rowOf = new Map(paths.map((p, i) => [p, i]));
  let filled = 0;
  // One part at a time: a decoded part holds ~2.6 MB of Arrow buffers per 512 images.
  for (const key of keys) {
    const table = decodeParquet(await run.read(key), ['path', 'features']);
    if (table.numRows === 0) continue;
    const partPaths = readStringColumn(table, 'path');
    const { values, dim: d } = readVectorColumn(table, 'features');
    if (d !== dim) throw new RunNotReadyError(`${key}: features have ${d} values, the manifest says ${dim}`);
    partPaths.forEach((p, i) => {
      const r = rowOf.get(p);
      if (r === undefined) return;
      out.set(values.subarray(i * dim, (i + 1) * dim), r * dim);
      filled++;
    });
  }
  if (filled !== paths.length) throw new RunNotReadyError(`${run.uri}: features/ holds ${filled} of the ${paths.length} images in results/`);
  return out;
}

/**
 * PCA reconstruction error of every image of the run, ‖x − μ‖² − ‖P(x − μ)‖² (the basis is orthonormal): how
 * much of an image lies outside the PCA subspace, which distances in PCA space cannot see. Reads features/ one
 * part at a time (no need to hold 1280-d features of the whole run).
 */
export async function referenceResiduals(run: Storage, set: ReferenceSet): Promise<Float64Array> {
  if (set.features) return residualsOf(set.features, set.pcaVectors, set.rows, set.pca);
  const rowOf = new Map(set.paths.map((p, i) => [p, i]));
  const out = new Float64Array(set.rows).fill(NaN);
  for (const key of await partKeys(run, 'features/')) {
    const table = decodeParquet(await run.read(key), ['path', 'features']);
    if (table.numRows === 0) continue;
    const paths = readStringColumn(table, 'path');
    const { values } = readVectorColumn(table, 'features');
    const rows = paths.map((p) => rowOf.get(p) ?? -1);
    const pca = new Float32Array(paths.length * set.pca.k);
    rows.forEach((r, i) => r >= 0 && pca.set(set.pcaVectors.subarray(r * set.pca.k, (r + 1) * set.pca.k), i * set.pca.k));
    const residuals = residualsOf(values, pca, paths.length, set.pca);
    rows.forEach((r, i) => r >= 0 && (out[r] = residuals[i]));
  }
  return out;
}

/** Reconstruction error of rows of features given their PCA vectors. */
export function residualsOf(features: Float32Array, pcaVectors: Float32Array, rows: number, pca: PcaModel): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let total = 0;
    for (let j = 0; j < pca.dim; j++) total += (features[r * pca.dim + j] - pca.mean[j]) ** 2;
    let kept = 0;
    for (let c = 0; c < pca.k; c++) kept += pcaVectors[r * pca.k + c] ** 2;
    out[r] = Math.max(total - kept, 0);
  }
  return out;
}

async function partKeys(run: Storage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of run.list(prefix)) {
    const name = entry.key.slice(entry.key.lastIndexOf('/') + 1);
    if (entry.key.endsWith('.parquet') && !name.startsWith('_') && !name.startsWith('.')) keys.push(entry.key);
  }
  return keys.sort();
}
