import { FruitsError } from '../../../errors/fruits-error.js';

/** Redis did not answer in time (status, the coordinator's first contact): the message names the redacted URL. */
export class RedisUnreachableError extends FruitsError {
  static override readonly code: string = 'FRUITS_REDIS_UNREACHABLE';
}
