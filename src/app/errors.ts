/**
 * The HTTP API's errors and how the layers' errors map to them.
 *
 * @module
 */
import { ImageDecodeError } from '../images/errors.js';
import { ClassifierClosedError, QueueFullError } from '../classifier/errors.js';
import { HttpError } from './errors/http-error.js';

export { HttpError, type ErrorCode } from './errors/http-error.js';

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
