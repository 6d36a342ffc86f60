import { LocalStorage } from './local-storage.js';
import type { Storage } from './storage.js';

export interface StorageOptions {
  /** S3-compatible endpoint (e.g. a local s3rver or MinIO); defaults to AWS_ENDPOINT_URL. */
  s3Endpoint?: string;
  region?: string;
}

export type StorageOpener = (uri: string, options: StorageOptions) => Storage;

const openers = new Map<string, StorageOpener>();

/** Adapters for URI schemes register here, so storage users import one function whatever the backend. */
export function registerStorageScheme(scheme: string, opener: StorageOpener): void {
  openers.set(scheme, opener);
}

export function isRemoteUri(uri: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file://');
}

export function openStorage(uri: string, options: StorageOptions = {}): Storage {
  const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri);
  if (!match || match[1] === 'file') return new LocalStorage(uri.replace(/^file:\/\//, ''));
  const opener = openers.get(match[1].toLowerCase());
  if (!opener) throw new Error(`unsupported storage URI ${uri}: use a local path or s3://bucket/prefix`);
  return opener(uri, options);
}
