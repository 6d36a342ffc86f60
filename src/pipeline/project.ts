import { layout } from '../dataset/layout.js';
import { readStringColumn, readVectorColumn } from '../dataset/parquet.js';
import { readPart } from '../dataset/part-record.js';
import { encodeResults } from '../dataset/schemas.js';
import type { ProjectionKernel } from '../pca/matrix-kernels.js';
import type { Storage } from '../storage/storage.js';

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
