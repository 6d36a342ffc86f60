import { StorageError } from '../../storage/errors.js';

/** The output folder already holds something that is not this run; the message says what to do (exit 5). */
export class OutputConflictError extends StorageError {
  static override readonly code: string = 'FRUITS_OUTPUT_CONFLICT';
}
