/**
 * The heavy products of PCA run in onnxruntime (MLAS GEMM): plain JS loops reach ~0.5 GFLOP/s here, MLAS
 * ~30 GFLOP/s per core in float64. A 512×1280 shard's scatter matrix is 1.7 GFLOP.
 *
 * @module
 */

import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/graph-builder.js';
import { Moments } from './moments.js';

export class ScatterKernel {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(threads = 1): Promise<ScatterKernel> {
    const graph = new GraphBuilder('scatter')
      .input('x', 'double', ['N', 'D'])
      .output('scatter', 'double', ['D', 'D'])
      .node('Transpose', ['x'], ['xt'], { perm: [1, 0] })
      .node('MatMul', ['xt', 'x'], ['scatter']);
    return new ScatterKernel(await ort.InferenceSession.create(graph.toBytes(), { intraOpNumThreads: threads, interOpNumThreads: 1 }));
  }

  /** Moments of `rows` vectors of `dim` floats laid out back to back. */
  async moments(values: Float32Array, rows: number, dim: number): Promise<Moments> {
    if (rows === 0) return Moments.empty(dim);
    const mean = new Float64Array(dim);
    for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) mean[j] += values[r * dim + j];
    for (let j = 0; j < dim; j++) mean[j] /= rows;
    const centered = new Float64Array(rows * dim);
    for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) centered[r * dim + j] = values[r * dim + j] - mean[j];
    const out = await this.session.run({ x: new ort.Tensor('float64', centered, [rows, dim]) });
    return Moments.fromScatter(dim, rows, mean, out.scatter.data as Float64Array);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** (x - mean) · componentsᵀ in float32, the per-shard projection onto the PCA basis. */
export class ProjectionKernel {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly dim: number,
    readonly k: number,
  ) {}

  static async create(mean: Float32Array, components: Float32Array, k: number, threads = 1): Promise<ProjectionKernel> {
    const dim = mean.length;
    // components is k × dim (one component per row); MatMul wants dim × k.
    const transposed = new Float32Array(dim * k);
    for (let c = 0; c < k; c++) for (let j = 0; j < dim; j++) transposed[j * k + c] = components[c * dim + j];
    const graph = new GraphBuilder('projection')
      .input('x', 'float', ['N', dim])
      .output('y', 'float', ['N', k])
      .initializer('mean', mean, [dim])
      .initializer('basis', transposed, [dim, k])
      .node('Sub', ['x', 'mean'], ['centered'])
      .node('MatMul', ['centered', 'basis'], ['y']);
    const session = await ort.InferenceSession.create(graph.toBytes(), { intraOpNumThreads: threads, interOpNumThreads: 1 });
    return new ProjectionKernel(session, dim, k);
  }

  async project(values: Float32Array, rows: number): Promise<Float32Array> {
    if (rows === 0) return new Float32Array(0);
    const out = await this.session.run({ x: new ort.Tensor('float32', values, [rows, this.dim]) });
    return out.y.data as Float32Array;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Applies a block of Householder reflectors in compact WY form, Z ← Z − ((Z V) Tᵀ) Vᵀ, in float64: the
 * back-transformation of the eigenvectors, ~2.3 GFLOP for k = 350 of 1280, which plain JS needs ~1 s for.
 */
export class ReflectorBlockKernel {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(threads = 1): Promise<ReflectorBlockKernel> {
    const graph = new GraphBuilder('reflector-block')
      .input('z', 'double', ['K', 'N'])
      .input('v', 'double', ['N', 'B'])
      .input('t', 'double', ['B', 'B'])
      .output('out', 'double', ['K', 'N'])
      .node('MatMul', ['z', 'v'], ['zv'])
      .node('Transpose', ['t'], ['tt'], { perm: [1, 0] })
      .node('MatMul', ['zv', 'tt'], ['w'])
      .node('Transpose', ['v'], ['vt'], { perm: [1, 0] })
      .node('MatMul', ['w', 'vt'], ['wvt'])
      .node('Sub', ['z', 'wvt'], ['out']);
    return new ReflectorBlockKernel(await ort.InferenceSession.create(graph.toBytes(), { intraOpNumThreads: threads, interOpNumThreads: 1 }));
  }

  async apply(z: Float64Array, k: number, n: number, v: Float64Array, t: Float64Array, b: number): Promise<Float64Array> {
    const out = await this.session.run({
      z: new ort.Tensor('float64', z, [k, n]),
      v: new ort.Tensor('float64', v, [n, b]),
      t: new ort.Tensor('float64', t, [b, b]),
    });
    return out.out.data as Float64Array;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
