import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScatterKernel } from './matrix-kernels.js';
import { Moments } from './moments.js';
import { componentsFor, fitPca, pcaModelFromJson, pcaModelToJson } from './pca-model.js';
import { PcaFormatError } from './errors.js';

/** Data with a known, decaying spectrum plus noise: rows × dim, float32 like real features. */
function syntheticData(rows: number, dim: number, seed = 3): Float32Array {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff - 0.5;
  };
  const x = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) x[r * dim + j] = 0.3 + random() * Math.exp(-j / 6) + 0.05 * random();
  // Mix the axes so components are not the coordinate axes.
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j + 1 < dim; j += 2) {
      const a = x[r * dim + j];
      const b = x[r * dim + j + 1];
      x[r * dim + j] = 0.8 * a + 0.6 * b;
      x[r * dim + j + 1] = -0.6 * a + 0.8 * b;
    }
  }
  return x;
}

/**
 * An independent PCA: one-sided Jacobi SVD of the centred data matrix (no covariance, no tridiagonal form).
 * Returns singular values² / (n - 1) and right singular vectors, largest first.
 */
function referencePca(x: Float32Array, rows: number, dim: number): { variance: number[]; vectors: number[][] } {
  const mean = new Array(dim).fill(0);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) mean[j] += x[r * dim + j] / rows;
  const a = Array.from({ length: dim }, (_, j) => Float64Array.from({ length: rows }, (_, r) => x[r * dim + j] - mean[j]));
  const v = Array.from({ length: dim }, (_, j) => Float64Array.from({ length: dim }, (_, i) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < dim; p++) {
      for (let q = p + 1; q < dim; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let r = 0; r < rows; r++) {
          alpha += a[p][r] * a[p][r];
          beta += a[q][r] * a[q][r];
          gamma += a[p][r] * a[q][r];
        }
        off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
        if (gamma === 0) continue;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (const m of [a, v]) {
          for (let r = 0; r < m[p].length; r++) {
            const mp = m[p][r];
            const mq = m[q][r];
            m[p][r] = c * mp - s * mq;
            m[q][r] = s * mp + c * mq;
          }
        }
      }
    }
    if (off < 1e-15) break;
  }
  const order = a.map((col, j) => ({ j, s2: col.reduce((s, y) => s + y * y, 0) })).sort((p, q) => q.s2 - p.s2);
  return { variance: order.map((o) => o.s2 / (rows - 1)), vectors: order.map((o) => Array.from(v[o.j])) };
}

test('PCA from merged shard moments matches an independent SVD: top-10 variance within 1e-6, components up to sign', async () => {
  const rows = 300;
  const dim = 24;
  const x = syntheticData(rows, dim);
  const kernel = await ScatterKernel.create();
  // Three uneven shards, merged in a different order than they were computed.
  const cuts = [0, 70, 180, rows];
  const parts = await Promise.all(cuts.slice(0, -1).map((start, i) => kernel.moments(x.subarray(start * dim, cuts[i + 1] * dim), cuts[i + 1] - start, dim)));
  await kernel.close();
  const merged = Moments.empty(dim).merge(parts[2]).merge(parts[0]).merge(parts[1]);
  assert.equal(merged.count, rows);
  const model = await fitPca(merged, { k: 10 });
  const reference = referencePca(x, rows, dim);
  for (let c = 0; c < 10; c++) {
    const relative = Math.abs(model.explainedVariance[c] - reference.variance[c]) / reference.variance[c];
    assert.ok(relative < 1e-6, `component ${c}: variance ${model.explainedVariance[c]} vs ${reference.variance[c]} (${relative})`);
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += model.components[c * dim + j] * reference.vectors[c][j];
    assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-5, `component ${c}: |cos| = ${Math.abs(dot)}`);
  }
  const total = reference.variance.reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(model.totalVariance - total) / total < 1e-9);
});

test('--pca-variance picks the fewest components reaching the target', () => {
  const values = Float64Array.from([5, 3, 1, 0.5, 0.5]);
  assert.equal(componentsFor(values, { variance: 0.5 }), 1);
  assert.equal(componentsFor(values, { variance: 0.8 }), 2);
  assert.equal(componentsFor(values, { variance: 0.9 }), 3);
  assert.equal(componentsFor(values, { variance: 1 }), 5);
  assert.equal(componentsFor(values, { k: 3 }), 3);
  assert.equal(componentsFor(values, { k: 50 }), 5);
});

test('moments and the PCA model survive serialisation exactly', async () => {
  const dim = 8;
  const x = syntheticData(40, dim);
  const kernel = await ScatterKernel.create();
  const moments = await kernel.moments(x, 40, dim);
  await kernel.close();
  const back = Moments.deserialize(moments.serialize());
  assert.equal(back.count, 40);
  assert.deepEqual(Array.from(back.mean), Array.from(moments.mean));
  assert.deepEqual(Array.from(back.packed), Array.from(moments.packed));
  assert.throws(() => Moments.deserialize(moments.serialize().subarray(0, 100)), /truncated|not a moments/);
  const model = await fitPca(moments, { variance: 0.9 });
  const restored = pcaModelFromJson(pcaModelToJson(model));
  assert.equal(restored.k, model.k);
  assert.deepEqual(Array.from(restored.components), Array.from(model.components));
});

test('a pca/model.json cut short or with arrays of the wrong size is a PcaFormatError naming the field', async () => {
  const kernel = await ScatterKernel.create();
  const moments = await kernel.moments(syntheticData(40, 8), 40, 8);
  await kernel.close();
  const text = pcaModelToJson(await fitPca(moments, { k: 3 }));
  assert.throws(
    () => pcaModelFromJson(text.slice(0, text.length / 2)),
    (e: unknown) => e instanceof PcaFormatError && /not JSON/.test(e.message) && e.cause instanceof SyntaxError,
  );
  // Before the schema, a short mean came back as a Float32Array of 7 and the projection read past it.
  const json = JSON.parse(text);
  assert.throws(
    () => pcaModelFromJson(JSON.stringify({ ...json, mean: json.mean.slice(1) })),
    /not a readable PCA model: mean: must hold dim \(8\) values, not 7/,
  );
  assert.throws(() => pcaModelFromJson(JSON.stringify({ ...json, components: json.components.slice(1) })), /components: must be k × dim \(3 × 8\)/);
  assert.throws(() => pcaModelFromJson(JSON.stringify({ ...json, format: 'other' })), /unknown PCA model format other/);
});
