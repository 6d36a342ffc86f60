import type { Neighbours } from './neighbours.js';

export interface RankedClass {
  classIndex: number;
  score: number;
}

export const DEFAULT_KNN_K = 10;

/**
 * k-nearest-neighbour vote of one query: each of the k nearest references votes for its class with its cosine
 * similarity; a class's score is its share of the votes. Classes that got no vote but appear further down the
 * neighbour list follow with score 0, in order of their nearest appearance, so a top-5 exists even when the
 * ten voters agree.
 */
export function knnRanking(neighbours: Neighbours, row: number, labels: Int32Array, k = DEFAULT_KNN_K, top = 5): RankedClass[] {
  const base = row * neighbours.k;
  const votes = new Map<number, number>();
  let total = 0;
  const voters = Math.min(k, neighbours.k);
  for (let i = 0; i < voters; i++) {
    const weight = Math.max(neighbours.similarities[base + i], 1e-6);
    const c = labels[neighbours.indices[base + i]];
    votes.set(c, (votes.get(c) ?? 0) + weight);
    total += weight;
  }
  const ranked: RankedClass[] = [...votes.entries()].map(([classIndex, v]) => ({ classIndex, score: v / total })).sort((a, b) => b.score - a.score);
  const seen = new Set(votes.keys());
  for (let i = voters; i < neighbours.k && ranked.length < top; i++) {
    const c = labels[neighbours.indices[base + i]];
    if (seen.has(c)) continue;
    seen.add(c);
    ranked.push({ classIndex: c, score: 0 });
  }
  return ranked.slice(0, top);
}
