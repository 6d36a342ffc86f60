import { ClassifierError } from './classifier-error.js';

/** Too many photos already wait for the model: the caller should retry later (HTTP 503). */
export class QueueFullError extends ClassifierError {
  static override readonly code: string = 'FRUITS_QUEUE_FULL';

  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
