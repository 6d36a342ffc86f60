import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { S3RVER_ENV, startS3Server, type S3Server } from '../../test/support/s3-server.js';
import { openStorage } from './open-storage.js';
import { S3Storage } from './s3-storage.js';
import { parseS3Uri } from './s3-uri.js';
import { StorageError } from './errors.js';
import type { Storage } from './storage.js';

// The SDK's default credential chain finds s3rver's key pair in the environment; nothing of the user's
// AWS configuration (profile, endpoint, session token) may leak into these tests.
for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_DEFAULT_REGION']) delete process.env[name];
Object.assign(process.env, S3RVER_ENV, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });

let server: S3Server;
const work = mkdtempSync(join(tmpdir(), 'fruits-s3-test-'));

before(async () => {
  server = await startS3Server(['fruits-test', 'fruits-in', 'fruits-out']);
});

after(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

function s3(uri: string, options: ConstructorParameters<typeof S3Storage>[1] = {}): S3Storage {
  return new S3Storage(uri, { s3Endpoint: server.endpoint, ...options });
}

async function entries(storage: Storage, prefix?: string): Promise<{ key: string; size: number }[]> {
  const found: { key: string; size: number }[] = [];
  for await (const entry of storage.list(prefix)) found.push(entry);
  return found;
}

async function keys(storage: Storage, prefix?: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of storage.list(prefix)) found.push(entry.key);
  return found.sort();
}

/** Runs `task` over `items`, `limit` at a time. */
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]);
    }),
  );
}

/** Requests the server received while `action` ran. */
async function requestsDuring(action: () => Promise<unknown>): Promise<string[]> {
  const start = server.requests.length;
  await action();
  return server.requests.slice(start);
}

describe('s3:// URIs', () => {
  test('bucket, optional prefix, optional trailing slash', () => {
    assert.deepEqual(parseS3Uri('s3://fruits-in'), { bucket: 'fruits-in', prefix: '' });
    assert.deepEqual(parseS3Uri('s3://fruits-in/'), { bucket: 'fruits-in', prefix: '' });
    assert.deepEqual(parseS3Uri('s3://fruits-in/Test'), { bucket: 'fruits-in', prefix: 'Test/' });
    assert.deepEqual(parseS3Uri('s3://fruits-in/runs/r1/'), { bucket: 'fruits-in', prefix: 'runs/r1/' });
    for (const bad of ['s3://', 's3:///x', 's3://a', 's3://fruits-in/a/../b', 's3://fruits-in//a', 's3://bad bucket/x']) {
      assert.throws(() => parseS3Uri(bad), StorageError, bad);
    }
  });

  test('openStorage gives an S3Storage that takes its endpoint from AWS_ENDPOINT_URL and defaults to eu-west-3', () => {
    const saved = { endpoint: process.env.AWS_ENDPOINT_URL, region: process.env.AWS_REGION };
    try {
      process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:1';
      delete process.env.AWS_REGION;
      const storage = openStorage('s3://fruits-in/Test/');
      assert.ok(storage instanceof S3Storage);
      assert.equal(storage.uri, 's3://fruits-in/Test/');
      assert.equal(storage.endpoint, 'http://127.0.0.1:1');
      assert.equal(storage.region, 'eu-west-3');
      const explicit = new S3Storage('s3://fruits-in', { s3Endpoint: 'http://127.0.0.1:2', region: 'eu-central-1' });
      assert.deepEqual([explicit.endpoint, explicit.region, explicit.prefix], ['http://127.0.0.1:2', 'eu-central-1', '']);
    } finally {
      process.env.AWS_ENDPOINT_URL = saved.endpoint;
      if (saved.endpoint === undefined) delete process.env.AWS_ENDPOINT_URL;
      process.env.AWS_REGION = saved.region;
    }
  });
});

describe('S3Storage against s3rver', () => {
  test('write, read, exists, overwrite, delete (twice: no error when absent)', async () => {
    const storage = s3('s3://fruits-test/unit');
    await storage.write('a/b.txt', 'hello');
    assert.equal((await storage.read('a/b.txt')).toString(), 'hello');
    assert.equal(await storage.exists('a/b.txt'), true);
    assert.equal(await storage.exists('a/missing.txt'), false);
    const bytes = new Uint8Array([0, 1, 2, 255]);
    await storage.write('a/b.txt', bytes);
    assert.deepEqual([...(await storage.read('a/b.txt'))], [...bytes]);
    assert.deepEqual(await keys(storage), ['a/b.txt']);
    await storage.delete('a/b.txt');
    assert.equal(await storage.exists('a/b.txt'), false);
    await storage.delete('a/b.txt');
    await storage.write('empty', '');
    assert.equal((await storage.read('empty')).length, 0);
    await storage.delete('empty');
  });

  test('list pages through more than 1000 keys with continuation tokens; deletePrefix deletes them in batches of 1000', async () => {
    const storage = s3('s3://fruits-test/many');
    const names = Array.from({ length: 1050 }, (_, i) => `k/${String(i).padStart(4, '0')}.bin`);
    await pool(names, 64, (name) => storage.write(name, 'x'));
    await storage.write('other/keep.bin', 'y');

    let listed: string[] = [];
    const pages = await requestsDuring(async () => (listed = await keys(storage, 'k/')));
    assert.deepEqual(listed, names);
    const listCalls = pages.filter((r) => r.includes('list-type=2'));
    assert.equal(listCalls.length, 2, 'S3 pages 1000 keys: two requests');
    assert.ok(listCalls[1].includes('continuation-token='), listCalls[1]);

    const small = s3('s3://fruits-test/many', { pageSize: 100 });
    const smallPages = await requestsDuring(async () => assert.equal((await keys(small)).length, 1051));
    assert.equal(smallPages.filter((r) => r.includes('list-type=2')).length, 11);

    const deletes = await requestsDuring(() => storage.deletePrefix('k/'));
    // 1000 + 50 keys: two DeleteObjects. s3rver sometimes answers one with a 500 (its parallel deletes race to
    // remove the emptied folder: ENOENT from rmdir) and the SDK's retry sends it again, hence "at least".
    assert.ok(deletes.filter((r) => r.startsWith('POST') && r.includes('delete')).length >= 2, deletes.join('\n'));
    assert.deepEqual(await keys(storage), ['other/keep.bin']);
    await storage.deletePrefix('');
    assert.deepEqual(await keys(storage), []);
  });

  test('a nested prefix root lists keys relative to it, and a prefix names a path, not a string prefix', async () => {
    const bucket = s3('s3://fruits-test');
    for (const key of ['nested/deep/x/1.bin', 'nested/deep/3.bin', 'nested/deep-sibling/2.bin', 'nested/deep/x-other/4.bin', 'nested/deep/folder/']) {
      await bucket.write(key.endsWith('/') ? `${key}marker` : key, 'z');
    }
    const root = s3('s3://fruits-test/nested/deep/');
    assert.deepEqual(await keys(root), ['3.bin', 'folder/marker', 'x-other/4.bin', 'x/1.bin']);
    assert.deepEqual(await keys(root, 'x'), ['x/1.bin']);
    assert.deepEqual(await keys(root, 'x/'), ['x/1.bin']);
    assert.deepEqual(await keys(root, '3.bin'), ['3.bin']);
    assert.deepEqual(await entries(root, 'x'), [{ key: 'x/1.bin', size: 1 }]);
    assert.equal((await root.read('x/1.bin')).toString(), 'z');
    // Same root written without the trailing slash: same keys.
    assert.deepEqual(await keys(s3('s3://fruits-test/nested/deep')), await keys(root));

    assert.equal(await root.exists(''), true);
    assert.equal(await root.exists('x/'), true);
    assert.equal(await root.exists('nope/'), false);
    const absent = s3('s3://fruits-test/nested/absent');
    assert.equal(await absent.exists(''), false, 'a prefix with no object under it does not exist');
    assert.deepEqual(await keys(absent), [], 'listing a root that does not exist yields nothing');
    assert.equal(await s3('s3://fruits-out').exists(''), true, 'an existing bucket exists, even empty');

    await root.deletePrefix('x');
    assert.deepEqual(await keys(root), ['3.bin', 'folder/marker', 'x-other/4.bin']);
    await root.deletePrefix('');
    assert.deepEqual(await keys(bucket, 'nested/'), ['nested/deep-sibling/2.bin']);
    await bucket.deletePrefix('nested/');
  });

  test('reading a missing key fails with the full s3:// key in the message (code ENOENT, like a local file)', async () => {
    const storage = s3('s3://fruits-test/unit');
    await assert.rejects(storage.read('missing/key.jpg'), (error: Error & { code?: string }) => {
      assert.ok(error instanceof StorageError);
      assert.match(error.message, /s3:\/\/fruits-test\/unit\/missing\/key\.jpg does not exist \(NoSuchKey\)/);
      assert.equal(error.code, 'ENOENT');
      return true;
    });
  });

  test('a missing bucket is a clear StorageError for list, exists("") and write', async () => {
    const storage = s3('s3://no-such-bucket/x');
    const expected = /bucket no-such-bucket does not exist or is not accessible: NoSuchBucket/;
    await assert.rejects(keys(storage), (e: Error) => e instanceof StorageError && expected.test(e.message));
    await assert.rejects(storage.exists(''), (e: Error) => e instanceof StorageError && expected.test(e.message));
    await assert.rejects(storage.write('a', 'b'), (e: Error) => e instanceof StorageError && expected.test(e.message));
  });

  test('keys with ".." segments or absolute keys are rejected before any request', async () => {
    const storage = s3('s3://fruits-test/unit');
    const sent = await requestsDuring(async () => {
      for (const key of ['../escape', 'a/../../b', '..', '/abs', 'a/./b', 'a//b']) {
        await assert.rejects(storage.read(key), StorageError, key);
        await assert.rejects(storage.write(key, 'x'), StorageError, key);
        await assert.rejects(storage.exists(key), StorageError, key);
        await assert.rejects(storage.delete(key), StorageError, key);
        await assert.rejects(storage.deletePrefix(key), StorageError, key);
        await assert.rejects(keys(storage, key), StorageError, key);
      }
      await assert.rejects(storage.read(''), StorageError);
    });
    assert.deepEqual(sent, []);
  });

  test('a 20 MB write goes through a multipart upload and reads back byte-equal; small writes are one PutObject', async () => {
    const storage = s3('s3://fruits-test/big');
    const data = randomBytes(20 * 1024 * 1024);
    const sent = await requestsDuring(() => storage.write('blob.bin', data));
    assert.ok(
      sent.some((r) => r.startsWith('POST') && r.includes('?uploads')),
      sent.join('\n'),
    );
    assert.equal(sent.filter((r) => r.startsWith('PUT') && r.includes('partNumber=')).length, 3, '8 MB parts');
    assert.ok(
      sent.some((r) => r.startsWith('POST') && r.includes('uploadId=')),
      'CompleteMultipartUpload',
    );
    assert.ok(!sent.some((r) => r.includes('x-id=PutObject')));
    const back = await storage.read('blob.bin');
    assert.equal(back.length, data.length);
    assert.ok(back.equals(data));
    assert.deepEqual(await entries(storage), [{ key: 'blob.bin', size: data.length }]);

    const small = await requestsDuring(() => storage.write('small.bin', randomBytes(1024)));
    assert.deepEqual(
      small.map((r) => r.split('?')[1]),
      ['x-id=PutObject'],
    );
    await storage.deletePrefix('');
  });
});
