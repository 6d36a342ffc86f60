/**
 * Top eigenpairs of a symmetric matrix, for PCA of a 1280×1280 covariance in about a second of plain JS:
 * Householder reduction to tridiagonal form, all eigenvalues by implicit QL (O(n²)), then eigenvectors for only
 * the wanted eigenvalues by inverse iteration on the tridiagonal and back-transformation. A full QL with
 * vectors would cost ~12n³ flops; this costs ~(4/3)n³ + 4n²k.
 */
export interface EigenResult {
  /** All eigenvalues, largest first. */
  values: Float64Array;
  /** The first `count` eigenvectors (for values[0..count)), each a contiguous row of n. */
  vectors: Float64Array;
  count: number;
}

interface Tridiagonal {
  d: Float64Array;
  e: Float64Array;
  /** Householder vectors (stored in the rows of the destroyed input) and their beta. */
  reflectors: { a: Float64Array; beta: Float64Array };
}

/** Applies a block of reflectors in compact WY form to the k × n rows of Z; returns the new Z. */
export type ReflectorBlockApply = (z: Float64Array, k: number, n: number, v: Float64Array, t: Float64Array, b: number) => Promise<Float64Array>;

/**
 * `a` is n×n row-major and is overwritten. `count(values)` picks how many eigenvectors to compute.
 * With `applyBlock` (an onnxruntime GEMM), the back-transformation runs in blocks of 32 reflectors.
 */
export async function symmetricEigen(
  a: Float64Array,
  n: number,
  count: (values: Float64Array) => number,
  applyBlock?: ReflectorBlockApply,
): Promise<EigenResult> {
  const tri = tridiagonalize(a, n);
  const values = tridiagonalEigenvalues(tri.d, tri.e);
  values.sort((x, y) => y - x);
  const k = Math.min(n, Math.max(0, count(values)));
  let vectors = tridiagonalEigenvectors(tri.d, tri.e, values.subarray(0, k));
  if (applyBlock && k > 0) vectors = await backTransformBlocked(tri.reflectors, n, vectors, k, applyBlock);
  else backTransform(tri.reflectors, n, vectors, k);
  return { values, vectors, count: k };
}

/**
 * Householder tridiagonalisation working on the lower triangle only, with each step's rank-2 update fused into
 * the next step's matrix-vector product: one pass over the trailing block per step instead of three.
 */
function tridiagonalize(a: Float64Array, n: number): Tridiagonal {
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const beta = new Float64Array(n);
  let v = new Float64Array(n);
  let p = new Float64Array(n);
  // The previous step's update B -= vp wpᵀ + wp vpᵀ, not yet applied to the block below its first column.
  let vp = new Float64Array(n);
  let wp = new Float64Array(n);
  let pending = false;
  for (let k = 0; k < n - 2; k++) {
    const row = k * n;
    // Column k below the diagonal, with the pending update applied; the reflector is stored in row k
    // (upper triangle, unused otherwise) for the back-transformation.
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) {
      let x = a[i * n + k];
      if (pending) x -= vp[i] * wp[k] + wp[i] * vp[k];
      a[row + i] = x;
      norm2 += x * x;
    }
    d[k] = pending ? a[row + k] - 2 * vp[k] * wp[k] : a[row + k];
    const norm = Math.sqrt(norm2);
    const x0 = a[row + k + 1];
    const alpha = x0 > 0 ? -norm : norm;
    e[k] = alpha;
    p.fill(0, k + 1);
    if (norm === 0) {
      beta[k] = 0;
      v.fill(0, k + 1);
    } else {
      a[row + k + 1] = x0 - alpha;
      let vv = 0;
      for (let j = k + 1; j < n; j++) {
        v[j] = a[row + j];
        vv += v[j] * v[j];
      }
      beta[k] = 2 / vv;
    }
    // One pass: apply the pending update to the lower triangle of the block and accumulate p = B v.
    for (let i = k + 1; i < n; i++) {
      if (pending) updateRowAndMultiply(a, i * n, k + 1, i, vp, wp, v, p);
      else multiplyRow(a, i * n, k + 1, i, v, p);
    }
    const bk = beta[k];
    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      p[i] *= bk;
      pv += p[i] * v[i];
    }
    const half = (bk / 2) * pv;
    for (let i = k + 1; i < n; i++) p[i] -= half * v[i];
    // p now holds w; this step's (v, w) become the pending update and the buffers swap roles.
    [vp, v] = [v, vp];
    [wp, p] = [p, wp];
    pending = bk !== 0;
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + n - 2] - (pending ? 2 * vp[n - 2] * wp[n - 2] : 0);
    e[n - 2] = a[(n - 1) * n + n - 2] - (pending ? vp[n - 1] * wp[n - 2] + wp[n - 1] * vp[n - 2] : 0);
  }
  if (n >= 1) d[n - 1] = a[(n - 1) * n + n - 1] - (pending ? 2 * vp[n - 1] * wp[n - 1] : 0);
  return { d, e, reflectors: { a, beta } };
}

/** Row i of the lower triangle (columns from..i): apply B -= vp wpᵀ + wp vpᵀ, then add its share of p = B v. */
function updateRowAndMultiply(a: Float64Array, r: number, from: number, i: number, vp: Float64Array, wp: Float64Array, v: Float64Array, p: Float64Array): void {
  const vpi = vp[i];
  const wpi = wp[i];
  const vi = v[i];
  let s = 0;
  for (let j = from; j < i; j++) {
    const b = a[r + j] - vpi * wp[j] - wpi * vp[j];
    a[r + j] = b;
    s += b * v[j];
    p[j] += b * vi;
  }
  const bii = a[r + i] - 2 * vpi * wpi;
  a[r + i] = bii;
  p[i] += s + bii * vi;
}

function multiplyRow(a: Float64Array, r: number, from: number, i: number, v: Float64Array, p: Float64Array): void {
  const vi = v[i];
  let s = 0;
  for (let j = from; j < i; j++) {
    const b = a[r + j];
    s += b * v[j];
    p[j] += b * vi;
  }
  p[i] += s + a[r + i] * vi;
}

/** Implicit QL with Wilkinson shifts on (d, e); e[i] couples i and i+1. Returns the eigenvalues (unsorted). */
function tridiagonalEigenvalues(dIn: Float64Array, eIn: Float64Array): Float64Array {
  const n = dIn.length;
  const d = Float64Array.from(dIn);
  const e = new Float64Array(n);
  e.set(eIn.subarray(0, n - 1));
  // Negligible couplings are judged against the matrix norm (as JAMA's tql2 does), not against the two
  // neighbouring diagonal entries: a covariance of rank < n has many eigenvalues that are zero up to rounding.
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]) + Math.abs(e[i]));
  const tolerance = Number.EPSILON * norm;
  for (let l = 0; l < n; l++) {
    let iterations = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        if (Math.abs(e[m]) <= tolerance) break;
      }
      if (m === l) break;
      if (++iterations > 60) throw new Error('tridiagonal QL did not converge');
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      for (; i >= l; i--) {
        const f = s * e[i];
        const b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] -= p;
          e[m] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (r === 0 && i >= l) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return d;
}

/**
 * Eigenvectors of the tridiagonal (d, e) for the given eigenvalues by inverse iteration, re-orthogonalised
 * within clusters of close eigenvalues (as LAPACK's dstein does). Rows of the result are the vectors.
 */
function tridiagonalEigenvectors(d: Float64Array, e: Float64Array, lambdas: Float64Array): Float64Array {
  const n = d.length;
  const k = lambdas.length;
  const out = new Float64Array(k * n);
  let tnorm = 0;
  for (let i = 0; i < n; i++) tnorm = Math.max(tnorm, Math.abs(d[i]) + Math.abs(e[i] ?? 0) + (i > 0 ? Math.abs(e[i - 1]) : 0));
  // Inverse iteration loses orthogonality in proportion to eps·‖T‖/gap, so only eigenvalues closer than
  // 1e-7·‖T‖ need explicit re-orthogonalisation (LAPACK's 1e-3 is far more cautious, and made one cluster of the
  // whole tail of a real covariance spectrum: 0.8 s of Gram-Schmidt for k = 348).
  const clusterGap = 1e-7 * tnorm;
  const eps = Number.EPSILON * Math.max(tnorm, Number.MIN_VALUE);
  // Work arrays for the pivoted LU of T - λI.
  const dl = new Float64Array(n);
  const dm = new Float64Array(n);
  const du = new Float64Array(n);
  const du2 = new Float64Array(n);
  const piv = new Uint8Array(n);
  const x = new Float64Array(n);
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff - 0.5;
  };
  let clusterStart = 0;
  for (let j = 0; j < k; j++) {
    if (j > 0 && Math.abs(lambdas[j - 1] - lambdas[j]) > clusterGap) clusterStart = j;
    // Perturb λ slightly when it repeats, so each vector of a cluster starts from a different solve.
    let lambda = lambdas[j];
    if (j > clusterStart && Math.abs(lambda - lambdas[j - 1]) < 10 * eps) lambda -= 10 * eps * (j - clusterStart);
    factorShifted(d, e, lambda, eps, dl, dm, du, du2, piv);
    for (let i = 0; i < n; i++) x[i] = random();
    for (let iteration = 0; iteration < 3; iteration++) {
      solveFactored(dl, dm, du, du2, piv, x);
      for (let c = clusterStart; c < j; c++) {
        const row = c * n;
        let dot = 0;
        for (let i = 0; i < n; i++) dot += out[row + i] * x[i];
        for (let i = 0; i < n; i++) x[i] -= dot * out[row + i];
      }
      let norm = 0;
      for (let i = 0; i < n; i++) norm += x[i] * x[i];
      norm = Math.sqrt(norm);
      for (let i = 0; i < n; i++) x[i] /= norm;
    }
    out.set(x, j * n);
  }
  return out;
}

/** LU with partial pivoting of the tridiagonal T - λI (LAPACK dgttrf layout). */
function factorShifted(
  d: Float64Array,
  e: Float64Array,
  lambda: number,
  eps: number,
  dl: Float64Array,
  dm: Float64Array,
  du: Float64Array,
  du2: Float64Array,
  piv: Uint8Array,
): void {
  const n = d.length;
  for (let i = 0; i < n; i++) {
    dm[i] = d[i] - lambda;
    dl[i] = i < n - 1 ? e[i] : 0;
    du[i] = i < n - 1 ? e[i] : 0;
    du2[i] = 0;
    piv[i] = 0;
  }
  for (let i = 0; i < n - 1; i++) {
    if (Math.abs(dm[i]) >= Math.abs(dl[i])) {
      if (dm[i] === 0) dm[i] = eps;
      const f = dl[i] / dm[i];
      dl[i] = f;
      dm[i + 1] -= f * du[i];
    } else {
      const f = dm[i] / dl[i];
      dm[i] = dl[i];
      dl[i] = f;
      const t = du[i];
      du[i] = dm[i + 1];
      dm[i + 1] = t - f * dm[i + 1];
      if (i < n - 2) {
        du2[i] = du[i + 1];
        du[i + 1] = -f * du[i + 1];
      }
      piv[i] = 1;
    }
  }
  if (dm[n - 1] === 0) dm[n - 1] = eps;
}

function solveFactored(dl: Float64Array, dm: Float64Array, du: Float64Array, du2: Float64Array, piv: Uint8Array, x: Float64Array): void {
  const n = dm.length;
  for (let i = 0; i < n - 1; i++) {
    if (piv[i]) {
      const t = x[i];
      x[i] = x[i + 1];
      x[i + 1] = t - dl[i] * x[i + 1];
    } else {
      x[i + 1] -= dl[i] * x[i];
    }
  }
  x[n - 1] /= dm[n - 1];
  if (n > 1) x[n - 2] = (x[n - 2] - du[n - 2] * x[n - 1]) / dm[n - 2];
  for (let i = n - 3; i >= 0; i--) x[i] = (x[i] - du[i] * x[i + 1] - du2[i] * x[i + 2]) / dm[i];
}

/**
 * The same product as backTransform, a block of reflectors at a time: Q_block = H_s … H_{s+b-1} = I − V T Vᵀ
 * (LAPACK dlarft, forward), so Z ← Z − (Z V) Tᵀ Vᵀ is three matrix products.
 */
async function backTransformBlocked(
  reflectors: Tridiagonal['reflectors'],
  n: number,
  vectors: Float64Array,
  k: number,
  applyBlock: ReflectorBlockApply,
): Promise<Float64Array> {
  const { a, beta } = reflectors;
  const blockSize = 32;
  const last = n - 3;
  let z = vectors;
  for (let s = Math.floor(last / blockSize) * blockSize; s >= 0; s -= blockSize) {
    const b = Math.min(blockSize, last + 1 - s);
    const v = new Float64Array(n * b);
    for (let c = 0; c < b; c++) {
      const r = s + c;
      if (beta[r] === 0) continue;
      for (let j = r + 1; j < n; j++) v[j * b + c] = a[r * n + j];
    }
    const t = new Float64Array(b * b);
    for (let i = 0; i < b; i++) {
      const tau = beta[s + i];
      t[i * b + i] = tau;
      if (i === 0 || tau === 0) continue;
      // t[0:i, i] = -tau · T[0:i, 0:i] · (V[:, 0:i]ᵀ v_i)
      const w = new Float64Array(i);
      for (let j = s + i + 1; j < n; j++) {
        const vi = v[j * b + i];
        for (let c = 0; c < i; c++) w[c] += v[j * b + c] * vi;
      }
      for (let r = 0; r < i; r++) {
        let sum = 0;
        for (let c = r; c < i; c++) sum += t[r * b + c] * w[c];
        t[r * b + i] = -tau * sum;
      }
    }
    z = await applyBlock(z, k, n, v, t, b);
  }
  return z;
}

/** y = H_0 H_1 … H_{n-3} z for every row z of `vectors`. */
function backTransform(reflectors: Tridiagonal['reflectors'], n: number, vectors: Float64Array, k: number): void {
  const { a, beta } = reflectors;
  for (let r = n - 3; r >= 0; r--) {
    const b = beta[r];
    if (b === 0) continue;
    const row = r * n;
    for (let c = 0; c < k; c++) {
      const z = c * n;
      let dot = 0;
      for (let j = r + 1; j < n; j++) dot += a[row + j] * vectors[z + j];
      const f = b * dot;
      for (let j = r + 1; j < n; j++) vectors[z + j] -= f * a[row + j];
    }
  }
}
