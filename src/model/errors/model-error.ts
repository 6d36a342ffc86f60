import { FruitsError } from '../../errors/fruits-error.js';

/** Raised before any work starts: the message always says how to fix it. The CLI exits 4 on every model error. */
export class ModelError extends FruitsError {
  static override readonly code: string = 'FRUITS_MODEL';
}
