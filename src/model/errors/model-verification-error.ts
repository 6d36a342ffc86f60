import { ModelError } from './model-error.js';

/** A built (or any) model that failed its checks: never installed, never used. */
export class ModelVerificationError extends ModelError {
  static override readonly code: string = 'FRUITS_MODEL_VERIFICATION';
}
