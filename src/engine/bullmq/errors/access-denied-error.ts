import { UnrecoverableError } from 'bullmq';

/** A job whose input or output root is outside the worker's --allow prefixes. Never retried (see InvalidJobError). */
export class AccessDeniedError extends UnrecoverableError {
  readonly code: string = 'FRUITS_ACCESS_DENIED';

  constructor(message: string) {
    super(message);
    this.name = 'AccessDeniedError';
  }
}
