import { InvalidOptionError } from '../errors/fruits-error.js';
import { LocalStorage } from './local-storage.js';
import { S3Storage } from './s3-storage.js';
import { SelectedFiles, selectedFilesOf } from './selected-files.js';
import type { Storage } from './storage.js';

export function isS3Uri(uri: string): boolean {
  return uri.startsWith('s3://');
}

/**
 * A local path (or file://) or s3://bucket/prefix → the Storage for it. A URI with a brace pattern, or one ending in
 * .tar or .parquet, names files of its folder (an input of WebDataset shards or image tables): see SelectedFiles.
 *
 * The S3 endpoint and region come from the environment only (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION),
 * the variables the AWS SDK itself reads: the CLI's --s3-endpoint and --s3-region set them once for the process
 * (cli/storage-flags.ts), and every worker thread inherits them. An options object threaded through the engines
 * as well was a second mechanism that no caller used. Code that needs another endpoint builds `new S3Storage`.
 */
export function openStorage(uri: string): Storage {
  // `s3://bucket/train-{00000..00999}.tar`, `shards/train-00007.tar`: those files of their folder, not a folder.
  const selected = selectedFilesOf(uri);
  if (selected) return new SelectedFiles(uri, openStorage(selected.root), selected.names);
  // The SDK itself loads on first use.
  if (isS3Uri(uri)) return new S3Storage(uri);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file://')) {
    throw new InvalidOptionError(`unsupported storage URI ${uri}: use a local path or s3://bucket/prefix`, { code: 'FRUITS_STORAGE_URI' });
  }
  return new LocalStorage(uri.replace(/^file:\/\//, ''));
}
