import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HTTPException } from 'hono/http-exception';
import type { Identification } from '../classifier/identifier.js';
import { httpErrorOf } from './errors.js';
import { testAppOptions } from '../../test/app/support/server.js';
import { createApp, type AppOptions, type PhotoIdentifier } from './server.js';

// The app's middleware through app.request (no socket): hono/secure-headers, hono/timeout, hono/body-limit and
// the mapping of Hono's errors to the API's { error: { code, message } }.

/** Never answers: a request waits for the timeout. */
const stuck: PhotoIdentifier = {
  runId: 'run-1',
  modelSha256: '0'.repeat(64),
  classes: ['Class A 1'],
  pending: 0,
  identify: () => new Promise<Identification>(() => {}),
};

function app(options: Partial<AppOptions> = {}) {
  return createApp(testAppOptions(stuck, options));
}

async function errorOf(response: Response): Promise<[number, string, string]> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return [response.status, body.error.code, body.error.message];
}

describe('security headers (hono/secure-headers)', () => {
  const PAGE_CSP =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

  test('the page gets its CSP (scripts and styles from the app only), nosniff and no-referrer; no HSTS from a plain-HTTP app', async () => {
    const response = await app().request('/');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-security-policy'), PAGE_CSP);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    assert.equal(response.headers.get('strict-transport-security'), null);
    // The page has no inline script or style for the CSP to block: everything comes from /app.js and /styles.css.
    const html = await response.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
    assert.doesNotMatch(html, /<style|\sstyle="/);
  });

  test('JSON answers and errors carry them too', async () => {
    for (const path of ['/healthz', '/nope']) {
      const response = await app().request(path);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer', path);
    }
  });
});

describe('limits', () => {
  test('an identify request with no answer within --timeout → 503 timeout with Retry-After (hono/timeout)', async () => {
    const t0 = performance.now();
    const response = await app({ requestTimeoutMs: 100 }).request('/api/identify', { method: 'POST', body: new Uint8Array([0xff, 0xd8, 0xff]) });
    const [status, code, message] = await errorOf(response);
    assert.deepEqual([status, code], [503, 'timeout']);
    assert.match(message, /no answer within/);
    assert.equal(response.headers.get('retry-after'), '5');
    assert.ok(performance.now() - t0 < 2000);
  });

  test('a correction over the form limit by its Content-Length → 413 too-large before any byte is read (hono/body-limit)', async () => {
    let pulled = false;
    // highWaterMark 0: the stream is pulled only when someone reads it.
    const body = new ReadableStream(
      {
        pull() {
          pulled = true;
          throw new Error('the body was read');
        },
      },
      { highWaterMark: 0 },
    );
    const response = await app({ maxUploadBytes: 1000 }).request('/api/feedback', {
      method: 'POST',
      body,
      duplex: 'half',
      headers: { 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(1000 + 64 * 1024 + 1) },
    } as RequestInit);
    const [status, code, message] = await errorOf(response);
    assert.deepEqual([status, code], [413, 'too-large']);
    assert.match(message, /--max-upload-mb/);
    assert.equal(response.headers.get('connection'), 'close');
    assert.equal(pulled, false);
  });

  test('a chunked correction is counted while it streams → 413 too-large', async () => {
    const body = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(new Uint8Array(30_000));
        controller.close();
      },
    });
    const response = await app({ maxUploadBytes: 10_000 }).request('/api/feedback', {
      method: 'POST',
      body,
      duplex: 'half',
      headers: { 'content-type': 'multipart/form-data; boundary=x', 'transfer-encoding': 'chunked' },
    } as RequestInit);
    assert.deepEqual((await errorOf(response)).slice(0, 2), [413, 'too-large']);
  });
});

describe("Hono's own errors in the API's shape", () => {
  test('an HTTPException carrying an HttpError answers with it; a bare one by its status; a 5xx of its own is a bug', () => {
    const timeout = httpErrorOf(new HTTPException(504));
    assert.deepEqual([timeout?.status, timeout?.code], [503, 'timeout']);
    const tooLarge = httpErrorOf(new HTTPException(413, { message: 'Payload Too Large' }));
    assert.deepEqual([tooLarge?.status, tooLarge?.code, tooLarge?.message], [413, 'too-large', 'Payload Too Large']);
    assert.ok(tooLarge?.cause instanceof HTTPException);
    const other = httpErrorOf(new HTTPException(401, { message: 'no' }));
    assert.deepEqual([other?.status, other?.code], [400, 'bad-request']);
    assert.equal(httpErrorOf(new HTTPException(500)), undefined);
  });
});
