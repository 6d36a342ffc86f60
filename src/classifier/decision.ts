import type { RankedClass } from './knn.js';

/**
 * When an answer becomes "not sure". A confident wrong answer is worse than an honest "not sure": the probe's
 * softmax is only calibrated on photos like the references (white-background studio shots), and a linear model
 * extrapolates with high confidence far from its data (a pomegranate photo gets "Pear Red" at 98%).
 * Measured on the full Fruits-360 Test run (23,619 references): held-out studio images score ≤ 1 on each ratio
 * by construction (99th/95th percentiles); the 30 real phone photos have out-of-distribution scores 2.8–25 and
 * the two photos below 4 are the two banana photos the classifier gets right; nine non-fruit images
 * (screenshots, a circuit board, noise, flat grey, text) score 5.3–14. The limit of 4 was chosen from these
 * numbers, so "answered and right" on those 30 photos is an optimistic figure (see docs/app.md).
 */
export interface DecisionThresholds {
  /**
   * The top answer's score must reach this, unless the other method (kNN vs probe) agrees on the top class:
   * two different classifiers picking the same class is evidence a single softmax score does not capture.
   */
  minScore: number;
  /**
   * Out-of-distribution limit on the largest of three ratios (OodScores): 1 means "as far as the farthest 1% of
   * held-out references from their nearest neighbour", "as far as the farthest 5% of a class from its
   * centroid", "as much outside the PCA subspace as the most unusual 1% of the references".
   */
  maxOod: number;
}

export const DEFAULT_THRESHOLDS: DecisionThresholds = { minScore: 0.5, maxOod: 4 };

export interface OodScores {
  /** Cosine similarity to the nearest reference vector. */
  nearestSimilarity: number;
  /** (1 − nearestSimilarity) / held-out nearest-distance quantile. */
  nearestRatio: number;
  /** Cosine distance to the top class's centroid / that class's member-distance quantile. */
  centroidRatio: number;
  /**
   * PCA reconstruction error / the references' 99th percentile: how much of the photo lies outside the PCA
   * subspace, which the two distances above (measured inside it) cannot see. 0 when unknown or unreliable
   * (a run with fewer than 4 images per feature dimension, see residualIsReliable).
   */
  residualRatio: number;
  /** max of the three ratios: the number compared with `maxOod`. */
  score: number;
}

export type NotSureReason = 'low-score' | 'unlike-references';

/** `top`: the chosen method's best class; `otherTop`: the other method's best class index. */
export function decide(
  top: RankedClass | undefined,
  otherTop: number | undefined,
  ood: OodScores,
  thresholds: DecisionThresholds,
): { notSure: boolean; reasons: NotSureReason[] } {
  const reasons: NotSureReason[] = [];
  const agreed = top !== undefined && otherTop === top.classIndex;
  if (!top || (top.score < thresholds.minScore && !agreed)) reasons.push('low-score');
  if (!(ood.score <= thresholds.maxOod)) reasons.push('unlike-references');
  return { notSure: reasons.length > 0, reasons };
}
