import { FruitsError } from '../../errors/fruits-error.js';

/**
 * A storage root or key that cannot be used (missing folder, no such bucket, a key that escapes the root, a write
 * refused): the run stops before any work, or the stage says which object failed. Where it mirrors a file error
 * its `code` is the one Node gives that error (ENOENT, EACCES, EROFS…), so callers that explain local file
 * failures explain S3 ones too; otherwise it is FRUITS_STORAGE.
 */
export class StorageError extends FruitsError {
  static override readonly code: string = 'FRUITS_STORAGE';
}
