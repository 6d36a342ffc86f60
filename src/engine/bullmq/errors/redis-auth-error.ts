import { FruitsError } from '../../../errors/fruits-error.js';

/** Redis refused the credentials (WRONGPASS, NOAUTH): retrying cannot help, so the process stops at once. */
export class RedisAuthError extends FruitsError {
  static override readonly code: string = 'FRUITS_REDIS_AUTH';
}

/** True for Redis replies that mean the password or user is wrong or missing. */
export function isAuthError(error: Error): boolean {
  return /^(WRONGPASS|NOAUTH)\b|invalid password|invalid username-password/i.test(error.message);
}
