import { ImageDecodeError } from '../images/errors.js';
import { ClassifierClosedError, QueueFullError } from '../classifier/errors.js';

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
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: 400 | 404 | 405 | 413 | 415 | 422 | 429 | 503 | 504 | 507,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * Bad uploads map to 4xx by what is wrong with them, never 500: the decoder already says why (empty, not an
 * image, too many pixels, corrupt), sniffed from the bytes rather than trusted from a name or a header.
 */
export function httpErrorOf(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof ImageDecodeError) {
    switch (error.reason) {
      case 'empty':
        return new HttpError(400, 'empty-upload', 'the photo is empty (0 bytes)');
      case 'not-an-image':
        return new HttpError(415, 'not-an-image', `not an image: ${error.message}. Send a JPEG, PNG, WebP, GIF or TIFF photo.`);
      case 'too-many-pixels':
        return new HttpError(422, 'too-many-pixels', `the image has too many pixels: ${error.message}`);
      case 'unsupported':
        return new HttpError(415, 'unsupported-image', error.message);
      case 'corrupt':
        return new HttpError(422, 'corrupt-image', `the image cannot be decoded: ${error.message}`);
    }
  }
  if (error instanceof QueueFullError) {
    return new HttpError(503, 'busy', error.message, { 'Retry-After': String(error.retryAfterSeconds) });
  }
  if (error instanceof ClassifierClosedError) return new HttpError(503, 'busy', error.message, { 'Retry-After': '5' });
  return undefined;
}
