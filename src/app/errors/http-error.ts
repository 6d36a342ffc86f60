import { FruitsError } from '../../errors/fruits-error.js';

/** Machine-readable reasons a request failed; the web page translates them. */
export type ErrorCode =
  | 'empty-upload'
  | 'missing-photo'
  | 'bad-request'
  | 'too-large'
  | 'not-an-image'
  | 'too-many-pixels'
  | 'corrupt-image'
  | 'unsupported-image'
  | 'invalid-feedback'
  | 'not-found'
  | 'rate-limited'
  | 'busy'
  | 'headers-too-large'
  | 'feedback-full'
  | 'timeout'
  | 'internal';

/**
 * An error the API answers with its own status and a JSON body `{ error: { code, message } }`. Anything
 * else that escapes a route is a bug and becomes a 500 with a generic message (details only in the log).
 */
export class HttpError extends FruitsError {
  /** The API's own code (kebab-case, in the JSON body and the OpenAPI document), not a FRUITS_… one. */
  declare readonly code: ErrorCode;

  constructor(
    readonly status: 400 | 404 | 405 | 413 | 415 | 422 | 429 | 503 | 504 | 507,
    code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    options: { cause?: unknown } = {},
  ) {
    super(message, { code, cause: options.cause });
  }
}
