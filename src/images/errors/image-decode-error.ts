import { FruitsError } from '../../errors/fruits-error.js';

/** Why an image could not be decoded; the HTTP API maps each reason to its own status. */
export type ImageDecodeReason = 'empty' | 'not-an-image' | 'too-many-pixels' | 'corrupt' | 'unsupported';

/** One image could not be turned into pixels; the run records it in errors/ and goes on. */
export class ImageDecodeError extends FruitsError {
  static override readonly code: string = 'FRUITS_IMAGE_DECODE';

  constructor(
    message: string,
    readonly reason: ImageDecodeReason,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}
