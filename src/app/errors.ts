/**
 * The HTTP API's errors and how the layers' errors map to them.
 *
 * @module
 */
import { HTTPException } from 'hono/http-exception';
import { ImageDecodeError } from '../images/errors.js';
import { ClassifierClosedError, QueueFullError } from '../classifier/errors.js';
import { HttpError, type ErrorCode } from './errors/http-error.js';

export { HttpError, type ErrorCode } from './errors/http-error.js';

/** The API's code for the statuses Hono's own middleware answer with (hono/body-limit, hono/timeout, validators). */
const HONO_STATUS_CODES: Partial<Record<number, [HttpError['status'], ErrorCode]>> = {
  400: [400, 'bad-request'],
  404: [404, 'not-found'],
  405: [405, 'bad-request'],
  413: [413, 'too-large'],
  415: [415, 'bad-request'],
  429: [429, 'rate-limited'],
  503: [503, 'busy'],
  // hono/timeout's default is 504 Gateway Timeout; the API documents its timeout as 503 with Retry-After.
  504: [503, 'timeout'],
};

/**
 * Bad uploads map to 4xx by what is wrong with them, never 500: the decoder already says why (empty, not an
 * image, too many pixels, corrupt), sniffed from the bytes rather than trusted from a name or a header.
 */
export function httpErrorOf(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof HTTPException) {
    // Our middleware options put the API's own error in `cause` (see routes/identify.ts); a bare one from Hono is
    // mapped by status, so it answers with the same { error: { code, message } } shape. A 5xx of its own is a bug.
    if (error.cause instanceof HttpError) return error.cause;
    const known = HONO_STATUS_CODES[error.status] ?? (error.status >= 400 && error.status < 500 ? [400, 'bad-request'] : undefined);
    if (!known) return undefined;
    const message = error.message || (error.res ? `${error.status} ${error.res.statusText}`.trim() : `HTTP ${error.status}`);
    return new HttpError(known[0], known[1], message, {}, { cause: error });
  }
  if (error instanceof ImageDecodeError) {
    switch (error.reason) {
      case 'empty':
        return new HttpError(400, 'empty-upload', 'the photo is empty (0 bytes)');
      case 'not-an-image':
        return new HttpError(415, 'not-an-image', `not an image: ${error.message}. Send a JPEG, PNG, WebP, GIF or TIFF photo.`, {}, { cause: error });
      case 'too-many-pixels':
        return new HttpError(422, 'too-many-pixels', `the image has too many pixels: ${error.message}`, {}, { cause: error });
      case 'unsupported':
        return new HttpError(415, 'unsupported-image', error.message, {}, { cause: error });
      case 'corrupt':
        return new HttpError(422, 'corrupt-image', `the image cannot be decoded: ${error.message}`, {}, { cause: error });
    }
  }
  if (error instanceof QueueFullError) {
    return new HttpError(503, 'busy', error.message, { 'Retry-After': String(error.retryAfterSeconds) }, { cause: error });
  }
  if (error instanceof ClassifierClosedError) return new HttpError(503, 'busy', error.message, { 'Retry-After': '5' }, { cause: error });
  return undefined;
}
