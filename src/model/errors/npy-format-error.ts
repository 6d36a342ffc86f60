import { ModelWeightsError } from './model-weights-error.js';

/** A `.npy` file in a layout the reader does not accept (not little-endian float32 in C order, truncated). */
export class NpyFormatError extends ModelWeightsError {}
