import { FruitsError } from '../../../errors/fruits-error.js';

/** The model a run needs is not where the coordinator publishes it, or its bytes do not have the run's sha256. */
export class ModelBroadcastError extends FruitsError {
  static override readonly code: string = 'FRUITS_MODEL_BROADCAST';
}
