/** One image could not be turned into pixels; the run records it in errors/ and goes on. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
  constructor(
    message: string,
    readonly reason: 'empty' | 'not-an-image' | 'too-many-pixels' | 'corrupt' | 'unsupported',
  ) {
    super(message);
  }
}
