import { ModelError } from './model-error.js';

/** No model at the given path, in the environment or in the cache; the message says how to get one. */
export class ModelNotFoundError extends ModelError {
  static override readonly code: string = 'FRUITS_MODEL_NOT_FOUND';
}
