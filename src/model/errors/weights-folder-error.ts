import { ModelWeightsError } from './model-weights-error.js';

/** A TFLite `.npy` weights folder whose layer map does not match the architecture. */
export class WeightsFolderError extends ModelWeightsError {}
