/**
 * The BullMQ engine's errors, one class per file under errors/.
 *
 * @module
 */
export { AccessDeniedError } from './errors/access-denied-error.js';
export { InvalidJobError } from './errors/invalid-job-error.js';
export { ModelBroadcastError } from './errors/model-broadcast-error.js';
export { isAuthError, RedisAuthError } from './errors/redis-auth-error.js';
export { RedisUnreachableError } from './errors/redis-unreachable-error.js';
export { RedisUrlError } from './errors/redis-url-error.js';
export { RunFailedError } from './errors/run-failed-error.js';
export { UnknownRunError } from './errors/unknown-run-error.js';
