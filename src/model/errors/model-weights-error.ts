import { ModelError } from './model-error.js';

/** A weights file (.h5, .npy folder) that `fruits model build` cannot read or that does not fit the architecture. */
export class ModelWeightsError extends ModelError {
  static override readonly code: string = 'FRUITS_MODEL_WEIGHTS';
}
