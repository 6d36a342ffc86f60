/**
 * A small multi-layer perceptron head on the frozen 1280-d features (one hidden ReLU layer, dropout while
 * training): the non-linear alternative to the linear probe that `fruits train` measures on validation scenes
 * and keeps when it wins. Training runs its heavy part (forward, backward) as one onnxruntime graph per step, the
 * Adam update in JS, as the probe does (see probe.ts).
 */
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/graph-builder.js';
import { standardisation } from './probe.js';
import { seededRandom, shuffleInPlace } from './vectors.js';

/** Weights with the standardisation folded into the first layer: logits = relu(x·w1 + b1)·w2 + b2 on raw features. */
export interface MlpHead {
  dim: number;
  hidden: number;
  classCount: number;
  /** dim × hidden, row-major. */
  w1: Float32Array;
  b1: Float32Array;
  /** hidden × classCount, row-major. */
  w2: Float32Array;
  b2: Float32Array;
  /** Softmax temperature fitted on held-out rows. */
  temperature: number;
}

export interface MlpTrainingOptions {
  hidden: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Decoupled weight decay (AdamW) on the weight matrices. */
  weightDecay: number;
  /** Share of hidden units dropped in each training step. */
  dropout: number;
  seed: number;
  threads: number;
}

/**
 * Measured on the full Test set's scenes (42,394 training rows, 2,422 validation scenes, 2 shared cores): 512
 * hidden units, 6 epochs, dropout 0.5 → validation top-1 54.7 % by class against 53.4 % for the best linear
 * probe, in 69 s.
 */
export const DEFAULT_MLP_TRAINING: MlpTrainingOptions = {
  hidden: 512,
  epochs: 6,
  batchSize: 256,
  learningRate: 1e-3,
  weightDecay: 1e-4,
  dropout: 0.5,
  seed: 1,
  threads: 1,
};

/** The gradients of a batch's summed cross-entropy with respect to every weight, in one graph. */
function gradientGraph(dim: number, hidden: number, classes: number): Uint8Array {
  return (
    new GraphBuilder('mlp-gradient')
      .input('x', 'float', ['B', dim])
      .input('y', 'float', ['B', classes])
      .input('keep', 'float', ['B', hidden])
      .input('w1', 'float', [dim, hidden])
      .input('b1', 'float', [hidden])
      .input('w2', 'float', [hidden, classes])
      .input('b2', 'float', [classes])
      .output('gw1', 'float', [dim, hidden])
      .output('gb1', 'float', [hidden])
      .output('gw2', 'float', [hidden, classes])
      .output('gb2', 'float', [classes])
      .initializer('axis0', BigInt64Array.from([0n]), [1])
      .initializer('zero', Float32Array.from([0]), [])
      .node('MatMul', ['x', 'w1'], ['xw1'])
      .node('Add', ['xw1', 'b1'], ['z'])
      .node('Relu', ['z'], ['a'])
      // Inverted dropout: `keep` is 0 or 1/(1 − p) per unit, drawn in JS from the seeded generator.
      .node('Mul', ['a', 'keep'], ['h'])
      .node('MatMul', ['h', 'w2'], ['hw2'])
      .node('Add', ['hw2', 'b2'], ['logits'])
      .node('Softmax', ['logits'], ['p'], { axis: -1 })
      .node('Sub', ['p', 'y'], ['g'])
      .node('Transpose', ['h'], ['ht'], { perm: [1, 0] })
      .node('MatMul', ['ht', 'g'], ['gw2'])
      .node('ReduceSum', ['g', 'axis0'], ['gb2'], { keepdims: 0 })
      .node('Transpose', ['w2'], ['w2t'], { perm: [1, 0] })
      .node('MatMul', ['g', 'w2t'], ['gh'])
      .node('Greater', ['z', 'zero'], ['active'])
      .node('Cast', ['active'], ['activef'], { to: 1 })
      .node('Mul', ['gh', 'keep'], ['ghk'])
      .node('Mul', ['ghk', 'activef'], ['gz'])
      .node('Transpose', ['x'], ['xt'], { perm: [1, 0] })
      .node('MatMul', ['xt', 'gz'], ['gw1'])
      .node('ReduceSum', ['gz', 'axis0'], ['gb1'], { keepdims: 0 })
      .toBytes()
  );
}

/** Trains the head on rows × dim features with labels in [0, classCount); temperature 1 until calibrated. */
export async function trainMlp(
  x: Float32Array,
  rows: number,
  dim: number,
  labels: Int32Array,
  classCount: number,
  options: Partial<MlpTrainingOptions> = {},
): Promise<MlpHead> {
  const o = { ...DEFAULT_MLP_TRAINING, ...options };
  const H = o.hidden;
  const C = classCount;
  const { mean, invStd } = standardisation(x, rows, dim);
  const random = seededRandom(o.seed);
  const gauss = () => Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
  // He initialisation for the ReLU layer, Xavier-like for the output.
  const w1 = Float32Array.from({ length: dim * H }, () => gauss() * Math.sqrt(2 / dim));
  const b1 = new Float32Array(H);
  const w2 = Float32Array.from({ length: H * C }, () => gauss() * Math.sqrt(1 / H));
  const b2 = new Float32Array(C);
  const params = [w1, b1, w2, b2];
  const m = params.map((p) => new Float32Array(p.length));
  const v = params.map((p) => new Float32Array(p.length));
  const batch = Math.min(o.batchSize, rows);
  const xb = new Float32Array(batch * dim);
  const yb = new Float32Array(batch * C);
  const keep = new Float32Array(batch * H);
  const order = Int32Array.from({ length: rows }, (_, i) => i);
  const session = await ort.InferenceSession.create(gradientGraph(dim, H, C), { intraOpNumThreads: o.threads, interOpNumThreads: 1 });
  const totalSteps = o.epochs * Math.ceil(rows / batch);
  let step = 0;
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      shuffleInPlace(order, random);
      for (let start = 0; start < rows; start += batch) {
        const n = Math.min(batch, rows - start);
        yb.fill(0, 0, n * C);
        for (let i = 0; i < n; i++) {
          const src = order[start + i] * dim;
          for (let j = 0; j < dim; j++) xb[i * dim + j] = (x[src + j] - mean[j]) * invStd[j];
          yb[i * C + labels[order[start + i]]] = 1;
        }
        for (let i = 0; i < n * H; i++) keep[i] = random() < o.dropout ? 0 : 1 / (1 - o.dropout);
        const out = await session.run({
          x: new ort.Tensor('float32', xb.subarray(0, n * dim), [n, dim]),
          y: new ort.Tensor('float32', yb.subarray(0, n * C), [n, C]),
          keep: new ort.Tensor('float32', keep.subarray(0, n * H), [n, H]),
          w1: new ort.Tensor('float32', w1, [dim, H]),
          b1: new ort.Tensor('float32', b1, [H]),
          w2: new ort.Tensor('float32', w2, [H, C]),
          b2: new ort.Tensor('float32', b2, [C]),
        });
        const grads = [out.gw1.data, out.gb1.data, out.gw2.data, out.gb2.data] as Float32Array[];
        step++;
        const lr = 0.5 * o.learningRate * (1 + Math.cos((Math.PI * (step - 1)) / totalSteps));
        const c1 = 1 - 0.9 ** step;
        const c2 = 1 - 0.999 ** step;
        params.forEach((p, k) => {
          const g = grads[k];
          const mk = m[k];
          const vk = v[k];
          const decay = k % 2 === 0 ? o.weightDecay : 0;
          for (let i = 0; i < p.length; i++) {
            const gi = g[i] / n;
            mk[i] = 0.9 * mk[i] + 0.1 * gi;
            vk[i] = 0.999 * vk[i] + 0.001 * gi * gi;
            p[i] -= lr * (mk[i] / c1 / (Math.sqrt(vk[i] / c2) + 1e-8) + decay * p[i]);
          }
        });
      }
    }
  } finally {
    await session.release();
  }
  // Fold the standardisation into the first layer: ((x − μ)/σ)·W1 + b1 = x·(W1/σ) + (b1 − (μ/σ)·W1).
  const folded = new Float32Array(dim * H);
  const bias = Float64Array.from(b1);
  for (let j = 0; j < dim; j++) {
    for (let h = 0; h < H; h++) {
      const w = w1[j * H + h] * invStd[j];
      folded[j * H + h] = w;
      bias[h] -= mean[j] * w;
    }
  }
  return { dim, hidden: H, classCount: C, w1: folded, b1: Float32Array.from(bias), w2, b2, temperature: 1 };
}

/** Logits of rows × dim features, in JS (≈ 0.7 M multiply-adds a row at 512 hidden units: a few ms for a photo's views). */
export function mlpLogits(head: MlpHead, x: Float32Array, rows: number): Float32Array {
  const { dim, hidden: H, classCount: C, w1, b1, w2, b2 } = head;
  const out = new Float32Array(rows * C);
  const h = new Float32Array(H);
  for (let r = 0; r < rows; r++) {
    h.set(b1);
    const base = r * dim;
    for (let j = 0; j < dim; j++) {
      const xj = x[base + j];
      // ReLU6 features are mostly zero: skipping them halves the work.
      if (xj === 0) continue;
      const wbase = j * H;
      for (let k = 0; k < H; k++) h[k] += xj * w1[wbase + k];
    }
    const o = r * C;
    for (let c = 0; c < C; c++) out[o + c] = b2[c];
    for (let k = 0; k < H; k++) {
      const hk = h[k];
      if (hk <= 0) continue;
      const wbase = k * C;
      for (let c = 0; c < C; c++) out[o + c] += hk * w2[wbase + c];
    }
  }
  return out;
}
