/** A --redis / FRUITS_REDIS_URL value that is not a usable Redis URL; the message never holds the password. */
export class RedisUrlError extends Error {
  override name = 'RedisUrlError';
}

/** Redis did not answer in time (status, the coordinator's first contact): the message names the redacted URL. */
export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

/** Redis refused the credentials (WRONGPASS, NOAUTH): retrying cannot help, so the process stops at once. */
export class RedisAuthError extends Error {
  override name = 'RedisAuthError';
}

/** True for Redis replies that mean the password or user is wrong or missing. */
export function isAuthError(error: Error): boolean {
  return /^(WRONGPASS|NOAUTH)\b|invalid password|invalid username-password/i.test(error.message);
}

/** The model a run needs is not where the coordinator publishes it, or its bytes do not have the run's sha256. */
export class ModelBroadcastError extends Error {
  override name = 'ModelBroadcastError';
}

/** A distributed run that cannot finish: a shard failed all its attempts. The message names the shard and cause. */
export class RunFailedError extends Error {
  override name = 'RunFailedError';

  constructor(
    message: string,
    readonly failures: { stage: string; shard?: number; attempts: number; reason: string }[],
  ) {
    super(message);
  }
}

/** `--resume RUN_ID` for a run id the queue does not know. */
export class UnknownRunError extends Error {
  override name = 'UnknownRunError';
}
