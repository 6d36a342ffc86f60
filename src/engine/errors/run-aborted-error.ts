import { FruitsError } from '../../errors/fruits-error.js';

/** The run was interrupted (Ctrl-C, SIGTERM, an aborted signal): parts already written are kept for --resume. */
export class RunAbortedError extends FruitsError {
  static override readonly code: string = 'FRUITS_INTERRUPTED';
}
