import { FruitsError } from '../../errors/fruits-error.js';

/**
 * Errors of the classifier layer. Each says what is wrong and how to fix it, because the CLI and the HTTP API
 * print the message as is.
 */
export class ClassifierError extends FruitsError {
  static override readonly code: string = 'FRUITS_CLASSIFIER';
}
