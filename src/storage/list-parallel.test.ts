import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { S3RVER_ENV, startS3Server, type S3Server } from '../../test/support/s3-server.js';
import { listParallel, type ListProgress } from './list-parallel.js';
import { LocalStorage } from './local-storage.js';
import { S3Storage } from './s3-storage.js';
import type { Storage } from './storage.js';

for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_DEFAULT_REGION']) delete process.env[name];
Object.assign(process.env, S3RVER_ENV, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });

let server: S3Server;
const work = mkdtempSync(join(tmpdir(), 'fruits-list-test-'));
// 6 class folders of 25 objects under a top folder, plus one file at the root.
const KEYS = ['top.txt', ...Array.from({ length: 6 * 25 }, (_, i) => `Test/Class ${Math.floor(i / 25)}/${String(i % 25).padStart(2, '0')}.jpg`)];

before(async () => {
  server = await startS3Server(['fruits-list']);
  const bucket = new S3Storage('s3://fruits-list/in', { s3Endpoint: server.endpoint });
  for (let i = 0; i < KEYS.length; i += 32) await Promise.all(KEYS.slice(i, i + 32).map((k) => bucket.write(k, k)));
  for (const key of KEYS) {
    mkdirSync(join(work, key, '..'), { recursive: true });
    writeFileSync(join(work, key), key);
  }
});

after(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

async function sequential(storage: Storage): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of storage.list()) keys.push(e.key);
  return keys.sort();
}

describe('listParallel', () => {
  // s3rver 3.7 finds common prefixes only one level below the listed prefix (its walker does not enter deeper
  // folders), so the S3 case lists the class prefixes of in/Test/; opening levels deeper is checked on a folder.
  test('S3: class prefixes are listed side by side, each paginated, same keys as one listing', async () => {
    const storage = new S3Storage('s3://fruits-list/in/Test', { s3Endpoint: server.endpoint, pageSize: 10 });
    const classKeys = KEYS.filter((k) => k.startsWith('Test/'))
      .map((k) => k.slice('Test/'.length))
      .sort();
    const progress: ListProgress[] = [];
    const start = server.requests.length;
    const entries = await listParallel(storage, { concurrency: 4, progressEvery: 50, onProgress: (p) => progress.push(p) });
    const requests = server.requests.slice(start).filter((r) => r.includes('list-type=2'));
    assert.deepEqual(entries.map((e) => e.key).sort(), classKeys);
    assert.ok(entries.every((e) => e.size === Buffer.byteLength(`Test/${e.key}`)));
    assert.deepEqual(await sequential(storage), classKeys);
    // One level listing (delimiter '/') finds 6 class prefixes, more than 4 at once: no deeper level is opened.
    assert.equal(requests.filter((r) => r.includes('delimiter=%2F')).length, 1, requests.join('\n'));
    // Each class prefix: 25 keys at 10 a page = 3 pages, continuation tokens within the prefix.
    for (let c = 0; c < 6; c++) {
      const pages = requests.filter((r) => r.includes(`prefix=in%2FTest%2FClass%20${c}%2F`) && !r.includes('delimiter'));
      assert.equal(pages.length, 3, `Class ${c}: ${pages.join(', ')}`);
      assert.equal(pages.filter((r) => r.includes('continuation-token=')).length, 2);
    }
    assert.deepEqual(progress.at(-1), { listed: classKeys.length, folders: 6, foldersDone: 6 });
    assert.ok(
      progress.some((p) => p.foldersDone < 6 && p.listed > 0),
      'progress comes while folders are listed',
    );
  });

  test('local: a root with fewer folders than the concurrency is opened deeper; same keys and sizes as the recursive walk', async () => {
    const storage = new LocalStorage(work);
    const progress: ListProgress[] = [];
    const entries = await listParallel(storage, { concurrency: 3, onProgress: (p) => progress.push(p) });
    assert.equal(progress.at(-1)?.folders, 6, 'the root (1 folder) and Test/ were opened: its 6 class folders listed side by side');
    assert.deepEqual(entries.map((e) => e.key).sort(), await sequential(storage));
    assert.ok(entries.every((e) => e.size === Buffer.byteLength(e.key)));
    assert.deepEqual(await storage.listLevel(''), { files: [{ key: 'top.txt', size: 7 }], folders: ['Test/'] });
  });

  test('S3 readRange: the bytes asked for, fewer past the end, none beyond it', async () => {
    const storage = new S3Storage('s3://fruits-list/in', { s3Endpoint: server.endpoint });
    assert.equal((await storage.readRange('top.txt', 1, 4)).toString(), 'op.');
    assert.equal((await storage.readRange('top.txt', 4, 100)).toString(), 'txt');
    assert.equal((await storage.readRange('top.txt', 7, 20)).length, 0);
    await assert.rejects(storage.readRange('missing.bin', 0, 10), /does not exist/);
    const local = new LocalStorage(work);
    assert.equal((await local.readRange('top.txt', 4, 100)).toString(), 'txt');
  });
});
