import { UnrecoverableError } from 'bullmq';

/**
 * A job a worker refuses to act on: malformed payload, unknown run, a plan that does not match the job.
 * Extends BullMQ's UnrecoverableError so it fails at once instead of being retried: retrying cannot fix it.
 */
export class InvalidJobError extends UnrecoverableError {
  override name = 'InvalidJobError';
}

/** A job whose input or output root is outside the worker's --allow prefixes. Never retried. */
export class AccessDeniedError extends UnrecoverableError {
  override name = 'AccessDeniedError';
}
