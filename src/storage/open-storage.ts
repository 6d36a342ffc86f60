import { LocalStorage } from './local-storage.js';
import { S3Storage } from './s3-storage.js';
import type { Storage } from './storage.js';

export interface StorageOptions {
  /** S3-compatible endpoint (e.g. a local s3rver or MinIO); defaults to AWS_ENDPOINT_URL. */
  s3Endpoint?: string;
  /** Defaults to AWS_REGION, then eu-west-3 (Paris): data stays in the EU. */
  region?: string;
}

export function isS3Uri(uri: string): boolean {
  return uri.startsWith('s3://');
}

/** A local path (or file://) or s3://bucket/prefix → the Storage for it. */
export function openStorage(uri: string, options: StorageOptions = {}): Storage {
  // The SDK itself loads on first use; AWS_ENDPOINT_URL(_S3) and AWS_REGION apply when no option is given.
  if (isS3Uri(uri)) return new S3Storage(uri, { s3Endpoint: options.s3Endpoint, region: options.region });
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file://')) {
    throw new Error(`unsupported storage URI ${uri}: use a local path or s3://bucket/prefix`);
  }
  void options;
  return new LocalStorage(uri.replace(/^file:\/\//, ''));
}
