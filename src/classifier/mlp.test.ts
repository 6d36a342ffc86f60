import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mlpLogits, trainMlp } from './mlp.js';
import { seededRandom } from './vectors.js';

/** Two classes that no line separates (XOR of the signs of two coordinates), the rest of the dimensions noise. */
function xor(rows: number, dim: number, seed: number) {
  const random = seededRandom(seed);
  const x = new Float32Array(rows * dim);
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < dim; j++) x[r * dim + j] = random() * 2 - 1;
    labels[r] = x[r * dim] > 0 !== x[r * dim + 1] > 0 ? 1 : 0;
  }
  return { x, labels };
}

const accuracy = (logits: Float32Array, labels: Int32Array) =>
  labels.filter((l, r) => (logits[r * 2 + 1] > logits[r * 2] ? 1 : 0) === l).length / labels.length;

test('trainMlp learns what a linear probe cannot (XOR), and its folded weights score raw features', async () => {
  const dim = 8;
  const train = xor(2000, dim, 1);
  const held = xor(500, dim, 2);
  const head = await trainMlp(train.x, 2000, dim, train.labels, 2, { hidden: 32, epochs: 40, batchSize: 64, learningRate: 0.01, dropout: 0, seed: 1 });
  assert.equal(head.w1.length, dim * 32);
  const acc = accuracy(mlpLogits(head, held.x, 500), held.labels);
  // A linear model is at chance (≈ 50 %) on XOR.
  assert.ok(acc > 0.9, `held-out accuracy ${acc}`);
});

test('trainMlp is deterministic from its seed', async () => {
  const { x, labels } = xor(300, 4, 3);
  const a = await trainMlp(x, 300, 4, labels, 2, { hidden: 8, epochs: 2, seed: 5 });
  const b = await trainMlp(x, 300, 4, labels, 2, { hidden: 8, epochs: 2, seed: 5 });
  assert.deepEqual(a.w2, b.w2);
});
