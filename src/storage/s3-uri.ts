import { StorageError } from './errors.js';

/** Where an `s3://bucket/prefix` root lives. `prefix` is '' (the whole bucket) or ends with '/'. */
export interface S3Location {
  bucket: string;
  prefix: string;
}

/**
 * Bucket names as S3 accepts them (3–63 characters today; legacy us-east-1 buckets may be longer or hold
 * upper-case letters and underscores, so those are let through and the server has the last word).
 */
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;

/** `s3://bucket`, `s3://bucket/`, `s3://bucket/a/b`, `s3://bucket/a/b/` → bucket and normalized prefix. */
export function parseS3Uri(uri: string): S3Location {
  if (!uri.startsWith('s3://')) throw new StorageError(`${uri} is not an s3:// URI`);
  const rest = uri.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  if (!BUCKET.test(bucket)) {
    throw new StorageError(`invalid S3 URI ${uri}: "${bucket}" is not a bucket name (expected s3://bucket/prefix)`);
  }
  const path = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  if (path !== '') {
    const bad = path.split('/').find((part) => part === '' || part === '.' || part === '..');
    if (bad !== undefined) {
      throw new StorageError(`invalid S3 URI ${uri}: the prefix may not hold empty, "." or ".." segments`);
    }
  }
  return { bucket, prefix: path === '' ? '' : `${path}/` };
}

/**
 * Rejects a key that could name something outside the root prefix, or that a local folder would read as
 * another path than S3 does: absolute keys and '.'/'..' segments. `''` (the root itself) and a trailing '/'
 * (a "folder") are accepted where the caller allows them.
 */
export function checkKey(key: string, root: string, options: { allowRoot?: boolean; allowFolder?: boolean } = {}): void {
  const fail = (why: string) => {
    throw new StorageError(`key ${JSON.stringify(key)} ${why} (storage root ${root})`);
  };
  if (key === '') {
    if (!options.allowRoot) fail('is empty');
    return;
  }
  if (key.startsWith('/')) fail('is absolute: keys are relative to the storage root');
  if (key.includes('\0')) fail('holds a NUL character');
  const body = options.allowFolder && key.endsWith('/') ? key.slice(0, -1) : key;
  for (const part of body.split('/')) {
    if (part === '..') fail('escapes the storage root');
    if (part === '.' || part === '') fail('holds an empty or "." segment');
  }
}
