import { UnrecoverableError } from 'bullmq';

/**
 * A job a worker refuses to act on: malformed payload, unknown run, a plan that does not match the job.
 * Extends BullMQ's UnrecoverableError so it fails at once instead of being retried: retrying cannot fix it.
 * (Hence not a FruitsError; it carries the same `code` and `cause`.)
 */
export class InvalidJobError extends UnrecoverableError {
  readonly code: string = 'FRUITS_INVALID_JOB';

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message);
    this.name = 'InvalidJobError';
    if (options.cause !== undefined) this.cause = options.cause;
  }
}
