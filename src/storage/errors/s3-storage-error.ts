import { StorageError } from './storage-error.js';

/**
 * A StorageError from S3, with `code` set the way Node sets it on file errors (ENOENT for a missing key, EACCES
 * for a refused one) and `s3Code` the S3 error name (NoSuchKey, AccessDenied, NoSuchBucket…).
 */
export class S3StorageError extends StorageError {
  constructor(
    message: string,
    readonly s3Code?: string,
    code?: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { code, cause: options.cause });
  }
}
