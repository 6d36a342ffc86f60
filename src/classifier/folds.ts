import { seededRandom, shuffleInPlace } from './vectors.js';

/**
 * Stratified k-fold: every class is shuffled (seeded) and dealt round-robin over the folds, so each fold holds
 * ~1/k of every class. Returns the fold number of every row.
 */
export function stratifiedFolds(labels: Int32Array, folds: number, seed = 1): Int32Array {
  const byClass = new Map<number, number[]>();
  labels.forEach((c, i) => {
    const rows = byClass.get(c) ?? [];
    rows.push(i);
    byClass.set(c, rows);
  });
  const random = seededRandom(seed);
  const fold = new Int32Array(labels.length);
  // Start each class at a different fold so small classes do not all pile their extra rows into fold 0.
  let offset = 0;
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = shuffleInPlace(byClass.get(c)!, random);
    rows.forEach((row, i) => (fold[row] = (i + offset) % folds));
    offset += rows.length;
  }
  return fold;
}

/** Row indices split by a fold assignment: the rows in `fold` and all the others. */
export function splitFold(assignment: Int32Array, fold: number): { train: Int32Array; test: Int32Array } {
  const train: number[] = [];
  const test: number[] = [];
  assignment.forEach((f, i) => (f === fold ? test : train).push(i));
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}
