import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ModelChecksumError } from '../errors.js';
import { sha256Bytes } from '../sha256.js';
import { DownloadError } from '../errors.js';
import { downloadVerified, type DownloadOptions } from './download.js';
import { tempDir } from '../../../test/support/model-helpers.js';
import { closedPort, startWeightsServer, type WeightsServer } from '../../../test/support/weights-server.js';

const FILE = 'weights.h5';
const BODY = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251);
const SHA = sha256Bytes(BODY);

describe('downloadVerified against a local HTTP server', () => {
  let server: WeightsServer;
  before(async () => {
    server = await startWeightsServer({ [FILE]: BODY, 'short.h5': BODY.subarray(0, 1000) });
  });
  after(async () => {
    await server.close();
  });

  const fresh = (overrides: Partial<DownloadOptions> = {}): DownloadOptions => {
    server.control.ranges = true;
    server.control.status = undefined;
    server.requests.length = 0;
    const dest = join(tempDir('fruits-dl-'), FILE);
    return { url: `${server.baseUrl}${FILE}`, dest, bytes: BODY.length, sha256: SHA, attempts: 1, retryDelayMs: 10, ...overrides };
  };

  test('good file: checked, renamed into place, progress up to the total; a second call uses it without a request', async () => {
    const events: [number, number][] = [];
    const options = fresh({ onProgress: (done, total) => events.push([done, total]) });
    const result = await downloadVerified(options);
    assert.deepEqual({ cached: result.cached, resumedFrom: result.resumedFrom, sha256: result.sha256 }, { cached: false, resumedFrom: 0, sha256: SHA });
    assert.ok(Buffer.from(readFileSync(options.dest)).equals(Buffer.from(BODY)));
    assert.equal(existsSync(`${options.dest}.part`), false);
    assert.deepEqual(events.at(-1), [BODY.length, BODY.length]);
    assert.ok(
      events.every(([done], i) => i === 0 || done >= events[i - 1][0]),
      'progress never goes back',
    );
    const again = await downloadVerified({ ...options, onProgress: undefined });
    assert.equal(again.cached, true);
    assert.equal(server.requests.length, 1);
  });

  test('wrong sha256: ModelChecksumError, nothing kept (no file, no part)', async () => {
    const options = fresh({ sha256: 'f'.repeat(64) });
    await assert.rejects(downloadVerified(options), (e: Error) => e instanceof ModelChecksumError && e.message.includes(SHA));
    assert.equal(existsSync(options.dest), false);
    assert.equal(existsSync(`${options.dest}.part`), false);
  });

  test('a file of another size than pinned is refused before it is written', async () => {
    const options = fresh({ url: `${server.baseUrl}short.h5` });
    await assert.rejects(downloadVerified(options), (e: Error) => e instanceof DownloadError && e.failure === 'mismatch');
    assert.equal(existsSync(options.dest), false);
    assert.equal(existsSync(`${options.dest}.part`), false);
  });

  test('server error 500: retried, then DownloadError with the status; 404 is not retried', async () => {
    const options = fresh({ attempts: 3 });
    server.control.status = 500;
    await assert.rejects(downloadVerified(options), (e: Error) => e instanceof DownloadError && e.status === 500 && /HTTP 500/.test(e.message));
    assert.equal(server.requests.length, 3);
    assert.equal(existsSync(options.dest), false);
    server.control.status = undefined;
    server.requests.length = 0;
    await assert.rejects(downloadVerified({ ...options, url: `${server.baseUrl}nope.h5` }), (e: Error) => e instanceof DownloadError && e.status === 404);
    assert.equal(server.requests.length, 1);
  });

  test('truncated transfer: DownloadError, the part is kept, never the file; the next call resumes with Range', async () => {
    const options = fresh();
    server.control.truncateOnce = 120_000;
    await assert.rejects(downloadVerified(options), (e: Error) => e instanceof DownloadError && e.failure === 'interrupted');
    assert.equal(existsSync(options.dest), false);
    const kept = statSync(`${options.dest}.part`).size;
    assert.ok(kept > 0 && kept < BODY.length, `part holds ${kept} bytes`);

    const result = await downloadVerified(options);
    assert.equal(result.resumedFrom, kept);
    assert.deepEqual(server.requests.at(-1), { path: FILE, range: `bytes=${kept}-`, status: 206 });
    assert.ok(Buffer.from(readFileSync(options.dest)).equals(Buffer.from(BODY)));
    assert.equal(existsSync(`${options.dest}.part`), false);
  });

  test('interrupted, then a server without Range support: restarts from zero and still ends with the right file', async () => {
    const options = fresh();
    server.control.truncateOnce = 50_000;
    await assert.rejects(downloadVerified(options), DownloadError);
    server.control.ranges = false;
    const result = await downloadVerified(options);
    assert.equal(result.resumedFrom, 0);
    assert.equal(server.requests.at(-1)!.status, 200);
    assert.equal(sha256Bytes(readFileSync(options.dest)), SHA);
  });

  test('within one call: an interruption is retried and resumed automatically', async () => {
    const options = fresh({ attempts: 3 });
    server.control.truncateOnce = 200_000;
    const result = await downloadVerified(options);
    assert.ok(result.resumedFrom > 0);
    assert.deepEqual(
      server.requests.map((r) => r.status),
      [200, 206],
    );
  });

  test('a stalled transfer is abandoned after the idle timeout and resumed', async () => {
    const options = fresh({ attempts: 2, idleTimeoutMs: 300 });
    server.control.stallOnce = 100_000;
    const result = await downloadVerified(options);
    assert.ok(result.resumedFrom > 0);
    assert.equal(sha256Bytes(readFileSync(options.dest)), SHA);
  });

  test('a damaged file at the destination is replaced, a stale oversized part is discarded', async () => {
    const options = fresh();
    writeFileSync(options.dest, BODY.subarray(0, 10));
    writeFileSync(`${options.dest}.part`, new Uint8Array(BODY.length + 5));
    const result = await downloadVerified(options);
    assert.equal(result.cached, false);
    assert.equal(sha256Bytes(readFileSync(options.dest)), SHA);
  });

  test('no server at all: DownloadError "unreachable" at once (no pointless retries)', async () => {
    const options = fresh({ url: `http://127.0.0.1:${await closedPort()}/${FILE}`, attempts: 3, retryDelayMs: 5_000 });
    const started = Date.now();
    await assert.rejects(downloadVerified(options), (e: Error) => e instanceof DownloadError && e.failure === 'unreachable' && /ECONNREFUSED/.test(e.message));
    assert.ok(Date.now() - started < 4_000);
  });
});
