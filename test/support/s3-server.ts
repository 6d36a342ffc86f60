import crypto from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The part of s3rver 3.7 (CommonJS, no type declarations) the tests use. */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

/** The access key pair s3rver accepts (it checks request signatures against it). */
export const S3RVER_ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'eu-west-3',
} as const;

export interface S3Server {
  /** http://127.0.0.1:<port>, for `s3Endpoint` or AWS_ENDPOINT_URL. */
  endpoint: string;
  /** `METHOD /path?query` of every request served so far (tests check which S3 calls were made). */
  requests: string[];
  close(): Promise<void>;
}

/**
 * An in-process s3rver (a fake S3 over the local file system) on a free port of 127.0.0.1, with the given
 * buckets created (names of 3+ characters), data in a temporary folder removed on close.
 */
export async function startS3Server(buckets: string[]): Promise<S3Server> {
  allowS3rverContinuationTokens();
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;
  const directory = mkdtempSync(join(tmpdir(), 'fruits-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const requests: string[] = [];
  server.httpServer?.on('request', (req: { method?: string; url?: string }) => requests.push(`${req.method} ${req.url}`));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      server.httpServer?.closeAllConnections();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

let desShimmed = false;

/**
 * s3rver 3.7 encrypts ListObjectsV2 continuation tokens with single DES (`createCipheriv('des', …)`), which
 * OpenSSL 3 (Node ≥ 17) only offers through its legacy provider: without this, every truncated listing —
 * any list of more than MaxKeys objects — fails with "InternalError" ("digital envelope routines::unsupported").
 * Triple DES with the same 8-byte key three times (K1 = K2 = K3) computes exactly single DES and is in the
 * default provider, so 'des' is swapped for it; s3rver calls `crypto.createCipheriv` through the CommonJS module
 * object at call time, which is why patching that object works. Nothing else (the SDK, the code under test)
 * asks for 'des'; `--openssl-legacy-provider` would do the same but cannot be set from inside a test file.
 */
function allowS3rverContinuationTokens(): void {
  if (desShimmed) return;
  desShimmed = true;
  const triple = (key: crypto.CipherKey) => {
    const bytes = Buffer.from(key as Uint8Array);
    return bytes.length === 8 ? Buffer.concat([bytes, bytes, bytes]) : bytes;
  };
  const { createCipheriv, createDecipheriv } = crypto;
  type Factory = (algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null, options?: unknown) => unknown;
  const shim = (original: Factory): Factory =>
    function (algorithm, key, iv, options) {
      if (algorithm.toLowerCase() === 'des') return original('des-ede3-cbc', triple(key), iv, options);
      return original(algorithm, key, iv, options);
    };
  Object.assign(crypto, {
    createCipheriv: shim(createCipheriv as unknown as Factory),
    createDecipheriv: shim(createDecipheriv as unknown as Factory),
  });
}
