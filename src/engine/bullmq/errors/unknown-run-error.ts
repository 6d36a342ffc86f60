import { FruitsError } from '../../../errors/fruits-error.js';

/** `--resume RUN_ID` or `fruits status RUN_ID` for a run id the queue does not know. */
export class UnknownRunError extends FruitsError {
  static override readonly code: string = 'FRUITS_UNKNOWN_RUN';
}
