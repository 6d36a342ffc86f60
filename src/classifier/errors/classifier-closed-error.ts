import { ClassifierError } from './classifier-error.js';

/** The classifier was closed while a photo was waiting (server shutdown). */
export class ClassifierClosedError extends ClassifierError {
  static override readonly code: string = 'FRUITS_CLASSIFIER_CLOSED';
}
