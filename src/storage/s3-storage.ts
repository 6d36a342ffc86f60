import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { checkKey, parseS3Uri } from './s3-uri.js';
import { S3StorageError, StorageError } from './errors.js';
import type { Storage, StorageEntry } from './storage.js';

export interface S3StorageOptions {
  /** S3-compatible endpoint (s3rver, MinIO…); defaults to AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL. */
  s3Endpoint?: string;
  /** Defaults to AWS_REGION, then AWS_DEFAULT_REGION, then eu-west-3 (Paris): data stays in the EU. */
  region?: string;
  /** Keys per ListObjectsV2 page (S3 caps it at 1000); smaller only in tests, to exercise pagination. */
  pageSize?: number;
  /** Bodies larger than this go through a multipart upload. */
  multipartThreshold?: number;
}

export const DEFAULT_REGION = 'eu-west-3';
const MULTIPART_THRESHOLD = 16 * 1024 * 1024;
const PART_SIZE = 8 * 1024 * 1024;
/** DeleteObjects takes at most 1000 keys per request. */
const DELETE_BATCH = 1000;

type ClientS3 = typeof import('@aws-sdk/client-s3');
let sdkModule: Promise<ClientS3> | undefined;
let uploadModule: Promise<typeof import('@aws-sdk/lib-storage')> | undefined;
const clients = new Map<string, Promise<S3Client>>();

/** The SDK is imported on first use only: local-only commands never pay its ~100 ms of module loading. */
function sdk(): Promise<ClientS3> {
  sdkModule ??= import('@aws-sdk/client-s3');
  return sdkModule;
}

/** One client (one connection pool) per region and endpoint, shared by every storage opened on them. */
function clientFor(region: string, endpoint: string | undefined): Promise<S3Client> {
  const id = `${region}\n${endpoint ?? ''}`;
  let client = clients.get(id);
  if (!client) {
    client = sdk().then(({ S3Client }) => {
      // Credentials come from the SDK's default chain (environment, profile, SSO, instance/task role) and are
      // never passed, stored or printed here.
      const config: S3ClientConfig = { region };
      if (endpoint) {
        config.endpoint = endpoint;
        // S3-compatible stores (s3rver, MinIO) serve buckets as paths, not as <bucket>.<host> names.
        config.forcePathStyle = true;
        // Since SDK v3.729 uploads carry a CRC32 checksum by default ('WHEN_SUPPORTED'). For a body of unknown
        // length (a stream) the SDK sends it as `Content-Encoding: aws-chunked` with the checksum in a trailer;
        // s3rver 3.7 does not decode that framing and stores it as the object's content (checked: a streamed
        // "hello" read back as "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"), and other older
        // S3-compatible stores reject the trailer. Buffers (all this adapter sends) get a plain header, but
        // checksums only where an operation requires them (DeleteObjects) keep such stores safe whatever the
        // body; against AWS itself (no endpoint) the SDK defaults stay on.
        config.requestChecksumCalculation = 'WHEN_REQUIRED';
        config.responseChecksumValidation = 'WHEN_REQUIRED';
      }
      return new S3Client(config);
    });
    clients.set(id, client);
    // A failed import must not stay cached: the next call tries again.
    client.catch(() => clients.delete(id));
  }
  return client;
}

function envEndpoint(): string | undefined {
  return process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;
}

function envRegion(): string | undefined {
  return process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined;
}

interface SdkError {
  name?: string;
  Code?: string;
  /** Node's code on network errors (ECONNREFUSED, ENOTFOUND…), which the SDK passes through. */
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function errorCode(error: unknown): string {
  const e = error as SdkError;
  if (e?.Code) return e.Code;
  if (e?.name && e.name !== 'Error') return e.name;
  return e?.code ?? 'Error';
}

function httpStatus(error: unknown): number | undefined {
  return (error as SdkError)?.$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'NoSuchKey' || code === 'NotFound' || (httpStatus(error) === 404 && code !== 'NoSuchBucket');
}

function isMissingBucket(error: unknown): boolean {
  return errorCode(error) === 'NoSuchBucket';
}

/** `AccessDenied (Access Denied)`: the SDK's error name and message; neither ever holds a credential. */
function describe(error: unknown): string {
  const code = errorCode(error);
  const message = (error as SdkError)?.message;
  const status = httpStatus(error);
  const detail = message && message !== code && message !== 'UnknownError' ? ` (${message})` : '';
  return `${code}${detail}${status && !detail ? ` (HTTP ${status})` : ''}`;
}

function nodeCode(s3Code: string, status: number | undefined): string | undefined {
  if (s3Code === 'NoSuchKey' || s3Code === 'NotFound' || status === 404) return 'ENOENT';
  if (s3Code === 'AccessDenied' || s3Code === 'Forbidden' || status === 403) return 'EACCES';
  return undefined;
}

/**
 * A bucket, or a prefix of one, through the AWS SDK v3. Keys are relative to the prefix. Writes are atomic
 * because S3 makes an object visible only once PutObject (or CompleteMultipartUpload) succeeds.
 */
export class S3Storage implements Storage {
  readonly bucket: string;
  /** '' for the whole bucket, else ends with '/'. */
  readonly prefix: string;
  readonly region: string;
  readonly endpoint: string | undefined;
  private readonly pageSize: number;
  private readonly multipartThreshold: number;

  constructor(
    readonly uri: string,
    options: S3StorageOptions = {},
  ) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Uri(uri));
    this.region = options.region || envRegion() || DEFAULT_REGION;
    this.endpoint = options.s3Endpoint || envEndpoint();
    this.pageSize = Math.max(1, Math.min(options.pageSize ?? 1000, 1000));
    this.multipartThreshold = options.multipartThreshold ?? MULTIPART_THRESHOLD;
  }

  /**
   * Every object under `prefix`, page by page as ListObjectsV2 returns them (never the whole listing in
   * memory). As with a folder, `prefix` names a path: `features` lists `features` and `features/…`, not
   * `features-old/…`. "Folder" marker objects (keys ending in '/') are not files and are skipped.
   */
  async *list(prefix = ''): AsyncIterable<StorageEntry> {
    checkKey(prefix, this.uri, { allowRoot: true, allowFolder: true });
    const client = await this.client();
    const { ListObjectsV2Command } = await sdk();
    const base = this.prefix + prefix;
    const exact = prefix !== '' && !prefix.endsWith('/') ? base : undefined;
    let token: string | undefined;
    do {
      let page;
      try {
        page = await client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, ContinuationToken: token, MaxKeys: this.pageSize }));
      } catch (error) {
        throw this.error(error, 'list', this.display(prefix));
      }
      for (const object of page.Contents ?? []) {
        const key = object.Key;
        if (key === undefined || key.endsWith('/')) continue;
        if (exact !== undefined && key !== exact && !key.startsWith(`${exact}/`)) continue;
        yield { key: key.slice(this.prefix.length), size: object.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** ListObjectsV2 with Delimiter '/', every page: the objects at this level and the common prefixes below it. */
  async listLevel(prefix = ''): Promise<{ files: StorageEntry[]; folders: string[] }> {
    checkKey(prefix, this.uri, { allowRoot: true, allowFolder: true });
    const client = await this.client();
    const { ListObjectsV2Command } = await sdk();
    const base = this.prefix + (prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`);
    const files: StorageEntry[] = [];
    const folders: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, Delimiter: '/', ContinuationToken: token, MaxKeys: this.pageSize }),
        );
      } catch (error) {
        throw this.error(error, 'list', this.display(prefix));
      }
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || object.Key.endsWith('/')) continue;
        files.push({ key: object.Key.slice(this.prefix.length), size: object.Size ?? 0 });
      }
      for (const common of page.CommonPrefixes ?? []) if (common.Prefix) folders.push(common.Prefix.slice(this.prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return { files, folders };
  }

  async read(key: string): Promise<Buffer> {
    checkKey(key, this.uri);
    const client = await this.client();
    const { GetObjectCommand } = await sdk();
    try {
      const response = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      const body = response.Body as AsyncIterable<Uint8Array> | undefined;
      if (!body) return Buffer.alloc(0);
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    } catch (error) {
      if (isNotFound(error)) {
        throw new S3StorageError(`${this.display(key)} does not exist (${errorCode(error)})`, errorCode(error), 'ENOENT', { cause: error });
      }
      throw this.error(error, 'read', this.display(key));
    }
  }

  /** One ranged GetObject (`Range: bytes=start-(end-1)`); a range past the end gives the bytes that exist. */
  async readRange(key: string, start: number, end: number): Promise<Buffer> {
    checkKey(key, this.uri);
    if (end <= start) return Buffer.alloc(0);
    const client = await this.client();
    const { GetObjectCommand } = await sdk();
    try {
      const response = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Range: `bytes=${start}-${end - 1}` }));
      const body = response.Body as AsyncIterable<Uint8Array> | undefined;
      if (!body) return Buffer.alloc(0);
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    } catch (error) {
      // 416: the range starts at or past the end of the object: nothing there, like a short local read.
      if (httpStatus(error) === 416 || errorCode(error) === 'InvalidRange') return Buffer.alloc(0);
      if (isNotFound(error)) {
        throw new S3StorageError(`${this.display(key)} does not exist (${errorCode(error)})`, errorCode(error), 'ENOENT', { cause: error });
      }
      throw this.error(error, 'read', this.display(key));
    }
  }

  async write(key: string, data: Uint8Array | string): Promise<void> {
    checkKey(key, this.uri);
    const body = typeof data === 'string' ? Buffer.from(data) : data;
    const client = await this.client();
    const target = { Bucket: this.bucket, Key: this.prefix + key, Body: body };
    try {
      if (body.byteLength > this.multipartThreshold) {
        // Multipart keeps each request small and retries part by part; the object still appears only when
        // CompleteMultipartUpload succeeds, and a failed upload is aborted (no parts left behind).
        uploadModule ??= import('@aws-sdk/lib-storage');
        const { Upload } = await uploadModule;
        await new Upload({ client, params: target, partSize: PART_SIZE, queueSize: 4, leavePartsOnError: false }).done();
      } else {
        const { PutObjectCommand } = await sdk();
        await client.send(new PutObjectCommand(target));
      }
    } catch (error) {
      throw this.error(error, 'write', this.display(key));
    }
  }

  /**
   * `exists('')` (or a key ending in '/') tells whether the root (that folder) holds anything: for a whole
   * bucket, whether the bucket exists. A missing bucket there is an error, not `false`, so a typo in a
   * bucket name is never reported as an empty input. Any other key: whether that object exists.
   */
  async exists(key: string): Promise<boolean> {
    checkKey(key, this.uri, { allowRoot: true, allowFolder: true });
    const client = await this.client();
    const { HeadObjectCommand, ListObjectsV2Command } = await sdk();
    if (key === '' || key.endsWith('/')) {
      try {
        const page = await client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + key, MaxKeys: 1 }));
        return key === '' && this.prefix === '' ? true : (page.KeyCount ?? page.Contents?.length ?? 0) > 0;
      } catch (error) {
        throw this.error(error, 'check', this.display(key));
      }
    }
    try {
      await client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw this.error(error, 'check', this.display(key));
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key, this.uri);
    const client = await this.client();
    const { DeleteObjectCommand } = await sdk();
    try {
      // S3 answers 204 for an absent key too.
      await client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw this.error(error, 'delete', this.display(key));
    }
  }

  /** Lists `prefix` (same path rule as `list`) and deletes what it finds, 1000 keys per DeleteObjects. */
  async deletePrefix(prefix: string): Promise<void> {
    checkKey(prefix, this.uri, { allowRoot: true, allowFolder: true });
    const client = await this.client();
    const { DeleteObjectsCommand } = await sdk();
    const flush = async (keys: string[]) => {
      let response;
      try {
        response = await client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: keys.map((k) => ({ Key: this.prefix + k })), Quiet: true },
          }),
        );
      } catch (error) {
        throw this.error(error, 'delete', this.display(prefix));
      }
      const failed = (response.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0];
        throw new S3StorageError(
          `cannot delete ${failed.length} object(s) under ${this.display(prefix)}, e.g. s3://${this.bucket}/${first.Key}: ` +
            `${first.Code ?? 'Error'} (${first.Message ?? ''})`,
          first.Code,
          nodeCode(first.Code ?? '', undefined),
        );
      }
    };
    let batch: string[] = [];
    for await (const entry of this.list(prefix)) {
      batch.push(entry.key);
      if (batch.length >= DELETE_BATCH) {
        await flush(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await flush(batch);
  }

  private client(): Promise<S3Client> {
    return clientFor(this.region, this.endpoint);
  }

  /** s3://bucket/prefix/key — the full address of a key, for messages. */
  private display(key: string): string {
    return `s3://${this.bucket}/${this.prefix}${key}`;
  }

  private error(error: unknown, action: string, where: string): S3StorageError {
    if (error instanceof StorageError) return error as S3StorageError;
    const code = errorCode(error);
    if (isMissingBucket(error)) {
      return new S3StorageError(`bucket ${this.bucket} does not exist or is not accessible: ${describe(error)} (${this.uri})`, code, 'ENOENT', {
        cause: error,
      });
    }
    const hint =
      code === 'AccessDenied' || code === 'Forbidden' || httpStatus(error) === 403
        ? ' (check the credentials and the bucket policy)'
        : code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || httpStatus(error) === 301
          ? ` (the bucket is not in region ${this.region}: give --s3-region or set AWS_REGION to its region)`
          : '';
    return new S3StorageError(`cannot ${action} ${where}: ${describe(error)}${hint}`, code, nodeCode(code, httpStatus(error)), { cause: error });
  }
}
