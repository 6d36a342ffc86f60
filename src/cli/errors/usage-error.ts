import { FruitsError } from '../../index.js';

/** A mistake in how the command was called: printed as one line with a pointer to --help, exit code 2. */
export class UsageError extends FruitsError {
  static override readonly code: string = 'FRUITS_USAGE';
}
