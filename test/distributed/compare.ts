import assert from 'node:assert/strict';
import { duckdbQuery } from '../support/duckdb.js';

interface Row {
  path: string;
  label: string;
  features: number[];
  pca: number[];
}

async function rows(dir: string): Promise<Row[]> {
  return (await duckdbQuery(
    `select f.path, f.label, f.features, r.pca
     from read_parquet('${dir}/features/*.parquet') f join read_parquet('${dir}/results/*.parquet') r using (path, label)
     order by path`,
  )) as unknown as Row[];
}

/** Every image exactly once in features/ and in results/ (a retried or duplicated shard must not add rows). */
export async function assertExactlyOnce(dir: string, images: number): Promise<void> {
  for (const part of ['features', 'results']) {
    const [{ n, paths }] = await duckdbQuery(`select count(*)::int n, count(distinct path)::int paths from read_parquet('${dir}/${part}/*.parquet')`);
    assert.deepEqual({ n, paths }, { n: images, paths: images }, `${part}/ of ${dir}`);
  }
}

/**
 * The same rows as a reference run (read back with DuckDB, an independent reader): same paths and labels,
 * features within 1e-5, PCA coordinates equal up to the sign of each component (an eigenvector's sign is
 * arbitrary).
 */
export async function assertSameOutput(dir: string, reference: string): Promise<void> {
  const [a, b] = [await rows(dir), await rows(reference)];
  assert.equal(a.length, b.length, 'row count');
  assert.deepEqual(
    a.map((r) => [r.path, r.label]),
    b.map((r) => [r.path, r.label]),
  );
  let featureDiff = 0;
  a.forEach((r, i) => r.features.forEach((x, j) => (featureDiff = Math.max(featureDiff, Math.abs(x - b[i].features[j])))));
  assert.ok(featureDiff <= 1e-5, `features differ by ${featureDiff}`);
  const k = b[0].pca.length;
  assert.equal(a[0].pca.length, k, 'pca dimension');
  for (let c = 0; c < k; c++) {
    const dot = a.reduce((s, r, i) => s + r.pca[c] * b[i].pca[c], 0);
    const sign = dot < 0 ? -1 : 1;
    const diff = Math.max(...a.map((r, i) => Math.abs(r.pca[c] - sign * b[i].pca[c])));
    assert.ok(diff <= 1e-3, `pca component ${c} differs by ${diff} (up to sign)`);
  }
}
