import { ModelWeightsError } from './model-weights-error.js';

/** An HDF5 file that is not the Keras MobileNetV2 weights, or cannot be read as HDF5 at all. */
export class KerasWeightsError extends ModelWeightsError {}

/** A `.npy` file in a layout the reader does not accept (not little-endian float32 in C order, truncated). */
export class NpyFormatError extends ModelWeightsError {}

/** A TFLite `.npy` weights folder whose layer map does not match the architecture. */
export class WeightsFolderError extends ModelWeightsError {}
