import { StorageError } from '../../storage/errors.js';

/**
 * The input has nothing to do; the message says what was looked for. `code` is FRUITS_INPUT_NOT_FOUND when the
 * input does not exist at all, FRUITS_INPUT_EMPTY when it holds no image (the CLI exits 3 for both).
 */
export class EmptyInputError extends StorageError {
  static override readonly code: string = 'FRUITS_INPUT_EMPTY';
}
