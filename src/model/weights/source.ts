import type { MobileNetV2Weights } from '../builder/architecture.js';

/** Where a set of weights came from, as recorded in a built model's sidecar. */
export interface WeightsSource {
  kind: 'npy-folder' | 'keras-h5';
  path: string;
  /**
   * keras-h5: sha256 of the file. npy-folder: sha256 of the `sha256sum`-style listing (`<sha256>  <relative path>\n`,
   * sorted by path) of every file read, so any changed tensor changes it.
   */
  sha256: string;
  /** What was done to the weights on the way (BatchNorm folding, layout changes). */
  notes: string[];
}

export interface LoadedWeights {
  weights: MobileNetV2Weights;
  source: WeightsSource;
}
