/**
 * An independent PCA for checking the pipeline's: eigen-decomposition of the samples' Gram matrix X Xᵀ (rows ×
 * rows, X centred) by cyclic Jacobi rotations — no covariance matrix, no Householder, no QL, no onnxruntime.
 * Nonzero eigenvalues of X Xᵀ equal those of Xᵀ X; component i is Xᵀ uᵢ normalised. Fine for a few hundred rows.
 */
export function referencePcaViaGram(x: Float32Array, rows: number, dim: number, top: number): { variance: number[]; components: Float64Array[] } {
  const mean = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) mean[j] += x[r * dim + j] / rows;
  const centred = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) centred[r * dim + j] = x[r * dim + j] - mean[j];
  const g = new Float64Array(rows * rows);
  for (let a = 0; a < rows; a++) {
    for (let b = a; b < rows; b++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += centred[a * dim + j] * centred[b * dim + j];
      g[a * rows + b] = s;
      g[b * rows + a] = s;
    }
  }
  const u = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) u[i * rows + i] = 1;
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < rows; p++) {
      diag += g[p * rows + p] ** 2;
      for (let q = p + 1; q < rows; q++) off += g[p * rows + q] ** 2;
    }
    if (off < 1e-30 * diag) break;
    for (let p = 0; p < rows; p++) {
      for (let q = p + 1; q < rows; q++) {
        const apq = g[p * rows + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (g[q * rows + q] - g[p * rows + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < rows; k++) {
          const gkp = g[k * rows + p];
          const gkq = g[k * rows + q];
          g[k * rows + p] = c * gkp - s * gkq;
          g[k * rows + q] = s * gkp + c * gkq;
        }
        for (let k = 0; k < rows; k++) {
          const gpk = g[p * rows + k];
          const gqk = g[q * rows + k];
          g[p * rows + k] = c * gpk - s * gqk;
          g[q * rows + k] = s * gpk + c * gqk;
        }
        for (let k = 0; k < rows; k++) {
          const upk = u[k * rows + p];
          const uqk = u[k * rows + q];
          u[k * rows + p] = c * upk - s * uqk;
          u[k * rows + q] = s * upk + c * uqk;
        }
      }
    }
  }
  const order = Array.from({ length: rows }, (_, i) => i).sort((a, b) => g[b * rows + b] - g[a * rows + a]);
  const variance: number[] = [];
  const components: Float64Array[] = [];
  for (const i of order.slice(0, top)) {
    variance.push(g[i * rows + i] / (rows - 1));
    const v = new Float64Array(dim);
    for (let r = 0; r < rows; r++) {
      const w = u[r * rows + i];
      for (let j = 0; j < dim; j++) v[j] += w * centred[r * dim + j];
    }
    const norm = Math.hypot(...v);
    components.push(v.map((e) => e / norm));
  }
  return { variance, components };
}
