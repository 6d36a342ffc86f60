import { PcaFormatError } from './errors.js';

/**
 * Mergeable second moments of a set of vectors: count, mean and the scatter matrix M = Σ (x-mean)(x-mean)ᵀ.
 * Each shard computes its own around its own mean (no cancellation between large raw sums); shards merge with
 * Chan et al.'s pairwise update, so the order of merging does not change the result beyond rounding.
 * The symmetric scatter is kept as its packed upper triangle: half the memory, half the merge work.
 */
export class Moments {
  constructor(
    readonly dim: number,
    public count: number,
    readonly mean: Float64Array,
    /** Upper triangle of the dim × dim scatter, row by row: (0,0) (0,1) … (0,d-1) (1,1) … */
    readonly packed: Float64Array,
  ) {}

  static empty(dim: number): Moments {
    return new Moments(dim, 0, new Float64Array(dim), new Float64Array((dim * (dim + 1)) / 2));
  }

  /** From a full row-major dim × dim scatter matrix. */
  static fromScatter(dim: number, count: number, mean: Float64Array, scatter: Float64Array): Moments {
    const packed = new Float64Array((dim * (dim + 1)) / 2);
    let k = 0;
    for (let i = 0; i < dim; i++) for (let j = i; j < dim; j++) packed[k++] = scatter[i * dim + j];
    return new Moments(dim, count, mean, packed);
  }

  merge(other: Moments): this {
    if (other.dim !== this.dim) throw new PcaFormatError(`cannot merge moments of dimension ${other.dim} into ${this.dim}`);
    if (other.count === 0) return this;
    const n = this.count + other.count;
    const d = this.dim;
    const delta = new Float64Array(d);
    for (let i = 0; i < d; i++) delta[i] = other.mean[i] - this.mean[i];
    const f = (this.count * other.count) / n;
    const mine = this.packed;
    const theirs = other.packed;
    let k = 0;
    for (let i = 0; i < d; i++) {
      const di = delta[i] * f;
      for (let j = i; j < d; j++, k++) mine[k] += theirs[k] + di * delta[j];
    }
    for (let i = 0; i < d; i++) this.mean[i] += (delta[i] * other.count) / n;
    this.count = n;
    return this;
  }

  /** Sample covariance, full row-major (divides by count - 1, as numpy.cov and scikit-learn's PCA do). */
  covariance(): Float64Array {
    if (this.count < 2) throw new Error(`PCA needs at least 2 feature vectors, got ${this.count}`);
    const d = this.dim;
    const c = new Float64Array(d * d);
    const s = 1 / (this.count - 1);
    let k = 0;
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) {
        const v = this.packed[k++] * s;
        c[i * d + j] = v;
        c[j * d + i] = v;
      }
    }
    return c;
  }

  /** Binary layout: magic, version, dim, count, mean, packed upper triangle (float64, little-endian). */
  serialize(): Uint8Array {
    const d = this.dim;
    const buffer = new ArrayBuffer(32 + 8 * d + 8 * this.packed.length);
    const view = new DataView(buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint32(4, 1, true);
    view.setUint32(8, d, true);
    view.setFloat64(16, this.count, true);
    new Float64Array(buffer, 32, d).set(this.mean);
    new Float64Array(buffer, 32 + 8 * d, this.packed.length).set(this.packed);
    return new Uint8Array(buffer);
  }

  static deserialize(bytes: Uint8Array): Moments {
    const copy = new Uint8Array(bytes).buffer;
    const view = new DataView(copy);
    if (copy.byteLength < 32 || view.getUint32(0, true) !== MAGIC) throw new PcaFormatError('not a moments file');
    const d = view.getUint32(8, true);
    const triangle = (d * (d + 1)) / 2;
    if (copy.byteLength !== 32 + 8 * d + 8 * triangle) throw new PcaFormatError(`moments file truncated (${copy.byteLength} bytes for dim ${d})`);
    return new Moments(d, view.getFloat64(16, true), new Float64Array(copy, 32, d), new Float64Array(copy, 32 + 8 * d, triangle));
  }
}

const MAGIC = 0x4d4f4d46; // "FMOM"
