import { ModelWeightsError } from './model-weights-error.js';

/** An HDF5 file that is not the Keras MobileNetV2 weights, or cannot be read as HDF5 at all. */
export class KerasWeightsError extends ModelWeightsError {}
