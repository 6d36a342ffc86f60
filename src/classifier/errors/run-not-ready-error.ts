import { ClassifierError } from './classifier-error.js';

/** The run folder holds no finished run (no _SUCCESS), or lacks a part the classifier needs. */
export class RunNotReadyError extends ClassifierError {
  static override readonly code: string = 'FRUITS_RUN_NOT_READY';
}
