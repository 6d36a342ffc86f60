import { ClassifierError } from './classifier-error.js';

/**
 * The model file is not the one the run was extracted with. Its features would live in another space than the
 * run's reference vectors, and every answer would be silently wrong.
 */
export class RunModelMismatchError extends ClassifierError {
  static override readonly code: string = 'FRUITS_RUN_MODEL_MISMATCH';
}
