/** Small helpers over rows × dim float32 matrices stored back to back. */

/** Copies rows `indices` of `matrix` into a new rows × dim matrix. */
export function gatherRows(matrix: Float32Array, dim: number, indices: ArrayLike<number>, out?: Float32Array): Float32Array {
  const result = out ?? new Float32Array(indices.length * dim);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i] * dim;
    result.set(matrix.subarray(from, from + dim), i * dim);
  }
  return result;
}

/** Each row scaled to unit L2 length (cosine similarity becomes a dot product). Zero rows stay zero. */
export function normalizeRows(matrix: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(matrix.length);
  const rows = matrix.length / dim;
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    const base = r * dim;
    for (let j = 0; j < dim; j++) sum += matrix[base + j] * matrix[base + j];
    const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let j = 0; j < dim; j++) out[base + j] = matrix[base + j] * inv;
  }
  return out;
}

/** rows × dim → dim × rows (MatMul wants the references as columns). */
export function transpose(matrix: Float32Array, rows: number, dim: number): Float32Array {
  const out = new Float32Array(matrix.length);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) out[j * rows + r] = matrix[r * dim + j];
  return out;
}

/** A seeded PRNG (mulberry32): folds and training shuffles are reproducible run to run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffleInPlace<T extends { length: number; [i: number]: number }>(array: T, random: () => number): T {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = array[i];
    array[i] = array[j];
    array[j] = t;
  }
  return array;
}

/** The q-quantile (0..1) of values, by sorting a copy. */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const pos = Math.min(Math.max(q, 0), 1) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
