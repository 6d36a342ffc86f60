import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { layout } from '../dataset/layout.js';
import { Moments } from '../pca/moments.js';
import { foldMoments, ReduceTree } from '../pca/moments-tree.js';
import { LocalStorage } from '../storage/local-storage.js';
import { mergeTreeNode, MomentsMerge, treeInputKey } from './reduce.js';

/** One shard's moments from a few deterministic pseudo-random rows. */
function shardMoments(shard: number, rows: number, dim: number): Moments {
  const mean = new Float64Array(dim);
  const scatter = new Float64Array(dim * dim);
  const x = Array.from({ length: rows }, (_, r) => Array.from({ length: dim }, (_, j) => Math.sin(shard * 7.1 + r * 1.3 + j * 0.7) * (j + 1)));
  for (const row of x) row.forEach((v, j) => (mean[j] += v / rows));
  for (const row of x) for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) scatter[i * dim + j] += (row[i] - mean[i]) * (row[j] - mean[j]);
  return Moments.fromScatter(dim, rows, mean, scatter);
}

test('MomentsMerge: shards added in any order, some before, some after, give the bit-identical canonical merge (aligned tree in plan order)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fruits-reduce-'));
  try {
    const output = new LocalStorage(dir);
    const dim = 5;
    const shards = [0, 1, 2, 3, 4, 5, 6];
    const all = shards.map((s) => shardMoments(s, 3 + s, dim));
    for (const s of shards) await output.write(layout.moments(s), all[s].serialize());
    // The canonical order: the aligned binary tree over the shards in plan order.
    const expected = foldMoments(dim, all);
    // Finishing order of two threads, and shard 6 never announced (a run resumed after its featurize).
    const merge = new MomentsMerge(output, shards, dim);
    for (const s of [1, 0, 3, 2, 5, 4]) merge.add(s);
    const total = await merge.result();
    assert.equal(total.count, expected.count);
    assert.deepEqual(Array.from(total.mean), Array.from(expected.mean));
    assert.deepEqual(Array.from(total.packed), Array.from(expected.packed));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('MomentsMerge: an unreadable moments file fails the result, not the process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fruits-reduce-'));
  try {
    const output = new LocalStorage(dir);
    await output.write(layout.moments(0), new Uint8Array([1, 2, 3]));
    const merge = new MomentsMerge(output, [0, 1], 4);
    merge.add(0);
    await assert.rejects(merge.result(), /moments/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mergeTreeNode: a tree reduce through storage (fan-in 4, 3 levels) gives the bytes of the flat merge; a node that exists is kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fruits-reduce-'));
  try {
    const output = new LocalStorage(dir);
    const dim = 5;
    const shards = Array.from({ length: 37 }, (_, s) => s);
    for (const s of shards) await output.write(layout.moments(s), shardMoments(s, 2 + (s % 4), dim).serialize());
    const flat = await new MomentsMerge(output, shards, dim).result();
    const tree = new ReduceTree(shards.length, 4);
    assert.deepEqual(tree.widths, [37, 10, 3, 1]);
    for (let level = 1; level < tree.height; level++) {
      for (let node = 0; node < tree.widths[level]; node++) assert.equal((await mergeTreeNode(output, tree, level, node, dim)).skipped, false);
    }
    assert.equal((await mergeTreeNode(output, tree, 1, 0, dim)).skipped, true);
    const root = await new MomentsMerge(output, tree.children(tree.height, 0), dim, treeInputKey(tree.height)).result();
    assert.deepEqual(Buffer.from(root.serialize()), Buffer.from(flat.serialize()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
