/**
 * The storage layer's errors, one class per file under errors/.
 *
 * @module
 */
export { S3StorageError } from './errors/s3-storage-error.js';
export { StorageError } from './errors/storage-error.js';
