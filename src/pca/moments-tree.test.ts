import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Moments } from './moments.js';
import { foldMoments, MomentsFold, ReduceTree } from './moments-tree.js';

/** A shard's moments from pseudo-random rows of mixed magnitudes: sums of these differ bit-wise by grouping. */
function shardMoments(shard: number, rows: number, dim: number): Moments {
  let state = 1 + shard * 7919;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const x = Array.from({ length: rows }, () => Array.from({ length: dim }, (_, j) => (random() - 0.3) * 10 ** (j % 4) + shard * 0.01));
  const mean = new Float64Array(dim);
  const scatter = new Float64Array(dim * dim);
  for (const row of x) row.forEach((v, j) => (mean[j] += v / rows));
  for (const row of x) for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) scatter[i * dim + j] += (row[i] - mean[i]) * (row[j] - mean[j]);
  return Moments.fromScatter(dim, rows, mean, scatter);
}

const copy = (m: Moments) => Moments.deserialize(m.serialize());
const bytes = (m: Moments) => Buffer.from(m.serialize());

/** The definition, written the obvious recursive way: node of height h covers [i·2^h, (i+1)·2^h). */
function alignedTree(items: Moments[], first: number, height: number): Moments | undefined {
  if (first >= items.length) return undefined;
  if (height === 0) return copy(items[first]);
  const left = alignedTree(items, first, height - 1)!;
  const right = alignedTree(items, first + 2 ** (height - 1), height - 1);
  if (!right || right.count === 0) return left;
  if (left.count === 0) return right;
  return left.merge(right);
}

/** A tree reduce as the BullMQ engine runs it: every node a separate fold over its children's (serialized) results. */
function treeReduce(items: Moments[], fanIn: number): Moments {
  const tree = new ReduceTree(items.length, fanIn);
  let level = items.map(bytes);
  for (let l = 1; l <= tree.height; l++) {
    level = Array.from({ length: tree.widths[l] }, (_, node) =>
      bytes(
        foldMoments(
          items[0].dim,
          tree.children(l, node).map((c) => Moments.deserialize(level[c])),
        ),
      ),
    );
  }
  assert.equal(level.length, 1);
  return Moments.deserialize(level[0]);
}

test('MomentsFold is the aligned binary tree, and a tree reduce of any power-of-two fan-in gives the same bytes', () => {
  const dim = 6;
  for (const n of [1, 2, 3, 5, 7, 16, 17, 37, 100]) {
    const shards = Array.from({ length: n }, (_, s) => shardMoments(s, 3 + (s % 5), dim));
    const expected = bytes(alignedTree(shards, 0, Math.ceil(Math.log2(n)))!);
    assert.deepEqual(bytes(foldMoments(dim, shards.map(copy))), expected, `fold of ${n}`);
    for (const fanIn of [2, 4, 8, 16, 1024]) assert.deepEqual(bytes(treeReduce(shards.map(copy), fanIn)), expected, `${n} shards, fan-in ${fanIn}`);
  }
});

test('the canonical tree differs from a left fold in the last bits (so the order must be fixed), and agrees to rounding', () => {
  const dim = 6;
  const shards = Array.from({ length: 37 }, (_, s) => shardMoments(s, 4, dim));
  const tree = foldMoments(dim, shards.map(copy));
  const left = shards.map(copy).reduce((a, b) => a.merge(b));
  assert.notDeepEqual(bytes(tree), bytes(left), 'Float64 merges of this data depend on the grouping');
  assert.equal(tree.count, left.count);
  tree.packed.forEach((v, k) => assert.ok(Math.abs(v - left.packed[k]) <= 1e-9 * Math.max(1, Math.abs(v)), `scatter ${k}: ${v} vs ${left.packed[k]}`));
});

test('shards without features (all their images failed) merge as no-ops, the same in a tree reduce and in the fold', () => {
  const dim = 4;
  const shards = Array.from({ length: 9 }, (_, s) => (s === 0 || s === 5 ? Moments.empty(dim) : shardMoments(s, 3, dim)));
  const without = foldMoments(dim, [shards[1], shards[2], shards[3], shards[4], shards[6], shards[7], shards[8]].map(copy));
  const fold = foldMoments(dim, shards.map(copy));
  assert.equal(fold.count, without.count);
  assert.deepEqual(bytes(treeReduce(shards.map(copy), 2)), bytes(fold));
});

test('ReduceTree: levels, children and spans; fan-ins that are not powers of two are refused', () => {
  const tree = new ReduceTree(1954, 16);
  assert.deepEqual(tree.widths, [1954, 123, 8, 1]);
  assert.equal(tree.height, 3);
  assert.deepEqual(tree.children(1, 122), [1952, 1953]);
  assert.deepEqual(tree.children(3, 0), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(tree.span(2, 7), { first: 1792, end: 1954 });
  assert.equal(tree.parent(1, 122), 7);
  assert.deepEqual(new ReduceTree(1, 16).widths, [1, 1]);
  assert.deepEqual(new ReduceTree(16, 16).widths, [16, 1]);
  assert.throws(() => new ReduceTree(10, 10), /power of two/);
  assert.throws(() => new ReduceTree(10, 1), /power of two/);
  assert.throws(() => tree.children(4, 0), /no level 4/);
  const fold = new MomentsFold(3);
  assert.throws(() => fold.push(Moments.empty(4)), /dimension 4/);
});
