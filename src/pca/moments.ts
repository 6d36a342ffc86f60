/**
 * Mergeable second moments of a set of vectors: count, mean and the scatter matrix M = Σ (x-mean)(x-mean)ᵀ.
 * Each shard computes its own around its own mean (no cancellation between large raw sums); shards merge with
 * Chan et al.'s pairwise update, so the order of merging does not change the result beyond rounding.
 */
export class Moments {
  constructor(
    readonly dim: number,
    public count: number,
    readonly mean: Float64Array,
    /** dim × dim, row-major, symmetric. */
    readonly scatter: Float64Array,
  ) {}

  static empty(dim: number): Moments {
    return new Moments(dim, 0, new Float64Array(dim), new Float64Array(dim * dim));
  }

  merge(other: Moments): this {
    if (other.dim !== this.dim) throw new Error(`cannot merge moments of dimension ${other.dim} into ${this.dim}`);
    if (other.count === 0) return this;
    const n = this.count + other.count;
    const delta = new Float64Array(this.dim);
    for (let i = 0; i < this.dim; i++) delta[i] = other.mean[i] - this.mean[i];
    const f = (this.count * other.count) / n;
    const d = this.dim;
    for (let i = 0; i < d; i++) {
      const row = i * d;
      const di = delta[i] * f;
      for (let j = 0; j < d; j++) this.scatter[row + j] += other.scatter[row + j] + di * delta[j];
    }
    for (let i = 0; i < d; i++) this.mean[i] += (delta[i] * other.count) / n;
    this.count = n;
    return this;
  }

  /** Sample covariance (divides by count - 1, as numpy.cov and scikit-learn's explained_variance_ do). */
  covariance(): Float64Array {
    if (this.count < 2) throw new Error(`PCA needs at least 2 feature vectors, got ${this.count}`);
    const c = new Float64Array(this.scatter.length);
    const s = 1 / (this.count - 1);
    for (let i = 0; i < c.length; i++) c[i] = this.scatter[i] * s;
    return c;
  }

  /** Binary layout: magic, version, dim, count, mean, upper triangle of the scatter (float64, little-endian). */
  serialize(): Uint8Array {
    const d = this.dim;
    const triangle = (d * (d + 1)) / 2;
    const buffer = new ArrayBuffer(32 + 8 * d + 8 * triangle);
    const view = new DataView(buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint32(4, 1, true);
    view.setUint32(8, d, true);
    view.setFloat64(16, this.count, true);
    new Float64Array(buffer, 32, d).set(this.mean);
    const packed = new Float64Array(buffer, 32 + 8 * d, triangle);
    let k = 0;
    for (let i = 0; i < d; i++) for (let j = i; j < d; j++) packed[k++] = this.scatter[i * d + j];
    return new Uint8Array(buffer);
  }

  static deserialize(bytes: Uint8Array): Moments {
    const copy = new Uint8Array(bytes).buffer;
    const view = new DataView(copy);
    if (copy.byteLength < 32 || view.getUint32(0, true) !== MAGIC) throw new Error('not a moments file');
    const d = view.getUint32(8, true);
    const triangle = (d * (d + 1)) / 2;
    if (copy.byteLength !== 32 + 8 * d + 8 * triangle) throw new Error(`moments file truncated (${copy.byteLength} bytes for dim ${d})`);
    const count = view.getFloat64(16, true);
    const mean = new Float64Array(copy, 32, d).slice();
    const packed = new Float64Array(copy, 32 + 8 * d, triangle);
    const scatter = new Float64Array(d * d);
    let k = 0;
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) {
        scatter[i * d + j] = packed[k];
        scatter[j * d + i] = packed[k++];
      }
    }
    return new Moments(d, count, mean, scatter);
  }
}

const MAGIC = 0x4d4f4d46; // "FMOM"
