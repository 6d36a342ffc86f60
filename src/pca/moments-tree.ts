import { Moments } from './moments.js';

/**
 * The one order in which every engine merges shard moments: the aligned binary tree over the shards in plan
 * order. The node of height h and index i covers shards [i·2^h, (i+1)·2^h) (cut at the last shard); it is the
 * merge `left.merge(right)` of its two halves, or its left half alone when the right one is empty.
 *
 * Why this order: Float64 sums depend on their grouping, so "the same PCA whatever runs the reduce" needs one
 * grouping fixed in advance. A left fold (the merge of old) cannot be split into jobs without changing the
 * bits; this tree can. A merge job of fan-in 2^m over aligned blocks of 2^(m·l) shards computes exactly the
 * nodes of this tree that cover its blocks, so a tree reduce of any power-of-two fan-in, a flat merge in one
 * job and the local engine's incremental merge give the same bytes.
 *
 * A fold takes its inputs in order, one at a time, and keeps at most log2(inputs) + 1 moments: a binary counter
 * whose digit k holds the completed node of height k.
 */
export class MomentsFold {
  /** Completed nodes, heights strictly decreasing from the bottom of the stack. */
  private readonly stack: { height: number; moments: Moments }[] = [];
  private taken = 0;

  constructor(readonly dim: number) {}

  /** Inputs folded so far. */
  get count(): number {
    return this.taken;
  }

  /** The next input in order (a shard's moments, or a complete aligned node of the level below). Taken over, not copied. */
  push(moments: Moments): void {
    if (moments.dim !== this.dim) throw new Error(`cannot merge moments of dimension ${moments.dim} into ${this.dim}`);
    let node = { height: 0, moments };
    while (this.stack.length > 0 && this.stack[this.stack.length - 1].height === node.height) {
      const left = this.stack.pop()!;
      node = { height: node.height + 1, moments: combine(left.moments, node.moments) };
    }
    this.stack.push(node);
  }

  /**
   * The tree's root over everything pushed. The unfinished right edge is closed from the right, as the aligned
   * tree does (a partial right subtree is merged before it joins its left sibling). The fold is spent afterwards.
   */
  result(): Moments {
    if (this.stack.length === 0) return Moments.empty(this.dim);
    let acc = this.stack.pop()!.moments;
    while (this.stack.length > 0) acc = combine(this.stack.pop()!.moments, acc);
    return acc;
  }
}

/**
 * One tree node from its halves. An empty half (a shard whose images all failed) leaves the other one as it is:
 * merging into an empty Moments would divide the mean by the count and back, which is not exact.
 */
function combine(left: Moments, right: Moments): Moments {
  if (right.count === 0) return left;
  if (left.count === 0) return right;
  return left.merge(right);
}

/** The aligned tree over `items` in one go (tests, and small folds). */
export function foldMoments(dim: number, items: Iterable<Moments>): Moments {
  const fold = new MomentsFold(dim);
  for (const m of items) fold.push(m);
  return fold.result();
}

/**
 * The shape of a tree reduce of fan-in `fanIn` (a power of two) over `shards` shards. Level 0 holds the shards;
 * node i of level l (l ≥ 1) merges nodes [i·fanIn, (i+1)·fanIn) of level l-1 (cut at the last), so it covers
 * shards [i·fanIn^l, (i+1)·fanIn^l). The top level has one node, the root; with shards ≤ fanIn the root reads
 * the shards' own moments.
 */
export class ReduceTree {
  /** Nodes of each level, level 0 (the shards) first; the last level has one node. */
  readonly widths: number[];

  constructor(
    readonly shards: number,
    readonly fanIn: number,
  ) {
    if (!isPowerOfTwo(fanIn) || fanIn < 2)
      throw new RangeError(
        `the reduce fan-in must be a power of two ≥ 2 (the order of the merge, and so the PCA's bits, depends on it otherwise), not ${fanIn}`,
      );
    if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`a reduce tree needs at least one shard, not ${shards}`);
    const widths = [shards];
    while (widths[widths.length - 1] > 1 || widths.length === 1) widths.push(Math.ceil(widths[widths.length - 1] / fanIn));
    this.widths = widths;
  }

  /** The root's level (≥ 1). */
  get height(): number {
    return this.widths.length - 1;
  }

  /** The nodes of level `level - 1` that node `node` of `level` merges, in order. */
  children(level: number, node: number): number[] {
    this.check(level, node);
    const below = this.widths[level - 1];
    const first = node * this.fanIn;
    return Array.from({ length: Math.min(this.fanIn, below - first) }, (_, j) => first + j);
  }

  /** The node of `level + 1` that merges node `node` of `level`. */
  parent(level: number, node: number): number {
    return Math.floor(node / this.fanIn);
  }

  /** Shards [first, end) under the node. */
  span(level: number, node: number): { first: number; end: number } {
    const size = this.fanIn ** level;
    return { first: node * size, end: Math.min(this.shards, (node + 1) * size) };
  }

  private check(level: number, node: number): void {
    if (!Number.isInteger(level) || level < 1 || level > this.height) throw new RangeError(`no level ${level} in a reduce tree of height ${this.height}`);
    if (!Number.isInteger(node) || node < 0 || node >= this.widths[level])
      throw new RangeError(`no node ${node} at level ${level} (it has ${this.widths[level]})`);
  }
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && Number.isInteger(Math.log2(n));
}

/** Fan-in of the tree reduce unless told otherwise: 16 × 6.5 MB of moments per merge job at 1280-d. */
export const DEFAULT_REDUCE_FAN_IN = 16;
