import { layout } from '../dataset/layout.js';
import { readStringColumn, readVectorColumn } from '../dataset/parquet.js';
import { readPart } from '../dataset/part-record.js';
import { encodeResults } from '../dataset/schemas.js';
import { ProjectionKernel } from '../pca/matrix-kernels.js';
import { readPcaModel } from '../dataset/run-files.js';
import type { Storage } from '../storage/storage.js';

/**
 * The projection onto the run's PCA basis, from its pca/model.json: what both engines open once per run (per
 * thread or worker) before their first project task.
 */
export async function openProjection(output: Storage, threads: number): Promise<ProjectionKernel> {
  const model = await readPcaModel(output);
  return ProjectionKernel.create(model.mean, model.components, model.k, threads);
}

/** features part → results part: every row's features projected onto the run's PCA basis. */
export async function projectShard(output: Storage, projection: ProjectionKernel, shard: number): Promise<{ rows: number }> {
  const table = await readPart(output, layout.features(shard), ['path', 'label', 'features']);
  const rows = table.numRows;
  const path = readStringColumn(table, 'path');
  const label = readStringColumn(table, 'label');
  const features = rows > 0 ? readVectorColumn(table, 'features').values : new Float32Array(0);
  const pca = await projection.project(features, rows);
  await output.write(layout.results(shard), encodeResults(path, label, pca, projection.k));
  return { rows };
}
