import { FruitsError } from '../../../errors/fruits-error.js';

/** A --redis / FRUITS_REDIS_URL value that is not a usable Redis URL; the message never holds the password. The CLI reports it as bad usage (exit 2). */
export class RedisUrlError extends FruitsError {
  static override readonly code: string = 'FRUITS_REDIS_URL';
}
