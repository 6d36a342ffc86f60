import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { fruitDirectory } from '../../src/app/fruit-directory.js';
import { createApp, DEFAULT_LIMITS, startServer, type AppOptions, type PhotoIdentifier, type RunningServer } from '../../src/app/server.js';
import { Catalog } from '../../src/catalog/catalog.js';
import type { Identification } from '../../src/classifier/identifier.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { postPhoto } from './support/server.js';

// The HTTP limits, over a stand-in classifier (no model, no run): what is tested is the app around it.
const ANSWER: Identification = {
  predictions: [{ className: 'Class A 1', score: 0.9 }],
  notSure: false,
  reasons: [],
  method: 'probe',
  probe: [{ className: 'Class A 1', score: 0.9 }],
  knn: [{ className: 'Class A 1', score: 1 }],
  ood: { nearestSimilarity: 0.9, nearestRatio: 0.5, centroidRatio: 0.5, residualRatio: 0.5, score: 0.5 },
  image: { format: 'jpeg', width: 10, height: 10, bytes: 10 },
  classifier: 'probe',
  views: 1,
  timings: { decodeMs: 1, waitMs: 0, inferenceMs: 1, batchSize: 1, totalMs: 2 },
};

/** Answers when released: lets a test fill the queue and hold it full. */
class HeldIdentifier implements PhotoIdentifier {
  readonly runId = 'run-1';
  readonly modelSha256 = '0'.repeat(64);
  readonly classes = ['Class A 1', 'Class B 1'];
  pending = 0;
  calls = 0;
  private waiters: (() => void)[] = [];
  hold = false;

  async identify(): Promise<Identification> {
    this.calls++;
    this.pending++;
    try {
      if (this.hold) await new Promise<void>((resolve) => this.waiters.push(resolve));
      return ANSWER;
    } finally {
      this.pending--;
    }
  }

  release(): void {
    this.hold = false;
    for (const w of this.waiters.splice(0)) w();
  }
}

async function start(identifier: PhotoIdentifier, app: Partial<AppOptions> = {}): Promise<RunningServer & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'fruits-limits-'));
  const options: AppOptions = {
    identifier,
    directory: fruitDirectory(Catalog.load()),
    feedback: openStorage(dir),
    maxUploadBytes: DEFAULT_LIMITS.maxUploadBytes,
    maxPixels: 50_000_000,
    rateLimitPerMinute: 0,
    requestTimeoutMs: 10_000,
    trustProxy: false,
    ...app,
  };
  return { ...(await startServer(createApp(options), { port: 0, host: '127.0.0.1', requestTimeoutMs: 10_000 })), dir };
}

/** Sends raw bytes on a new connection; resolves with what came back before the server closed it (or `ms`). */
function raw(port: number, request: string | Buffer, ms = 3000): Promise<{ status: number; headers: string; body: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const [headers, body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1] ?? 0), headers, body, ms: performance.now() - started });
    };
    const timer = setTimeout(done, ms);
    socket.on('data', (d) => {
      data += d;
      // A complete JSON body is enough: the test does not wait for the close.
      const length = Number(/content-length: (\d+)/i.exec(data)?.[1] ?? NaN);
      const at = data.indexOf('\r\n\r\n');
      if (at >= 0 && Buffer.byteLength(data.slice(at + 4)) >= length) done();
    });
    socket.on('end', done);
    socket.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? done() : reject(e)));
    socket.write(request);
  });
}

let photo: Buffer;
before(async () => {
  photo = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#d02020' } })
    .jpeg()
    .toBuffer();
});

describe("Node's own HTTP errors and odd forms get the API's JSON error shape", () => {
  let server: Awaited<ReturnType<typeof start>>;
  before(async () => {
    server = await start(new HeldIdentifier());
  });
  after(() => server.close());

  test('headers of 100 KB → 431 with { error: { code, message } }', async () => {
    const r = await raw(server.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n\r\n`);
    assert.equal(r.status, 431, r.headers);
    assert.match(r.headers, /content-type: application\/json/i);
    assert.deepEqual(JSON.parse(r.body).error.code, 'headers-too-large');
  });

  test('a bad Content-Length → 400 with { error: { code, message } }', async () => {
    const r = await raw(server.port, 'POST /api/identify HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n');
    assert.equal(r.status, 400, r.headers);
    const body = JSON.parse(r.body);
    assert.equal(body.error.code, 'bad-request');
    assert.match(body.error.message, /malformed HTTP request/);
  });

  test('two "photo" files in one form → 400, the classifier never called', async () => {
    const identifier = new HeldIdentifier();
    const s = await start(identifier);
    try {
      const form = new FormData();
      form.append('photo', new Blob([photo]), 'a.jpg');
      form.append('photo', new Blob([photo]), 'b.jpg');
      const response = await fetch(`${s.url}/api/identify`, { method: 'POST', body: form });
      assert.equal(response.status, 400);
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'bad-request');
      assert.match(body.error.message, /2 files named "photo"/);
      assert.equal(identifier.calls, 0);
    } finally {
      await s.close();
    }
  });
});

describe('a full queue refuses before reading the upload', () => {
  test('with --queue 2 held full: a third upload gets 503 at once without sending its body; /healthz answers within 1 s', async () => {
    const identifier = new HeldIdentifier();
    identifier.hold = true;
    const server = await start(identifier, { maxQueued: 2 });
    try {
      const held = [postPhoto(`${server.url}/api/identify`, photo), postPhoto(`${server.url}/api/identify`, photo)];
      while (identifier.pending < 2) await new Promise((r) => setTimeout(r, 5));
      // Headers announcing a 5 MB upload, and not one byte of it: the answer must not wait for the body.
      const r = await raw(server.port, 'POST /api/identify HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 5000000\r\n\r\n', 2000);
      assert.equal(r.status, 503, `no answer before the body was sent (${r.ms.toFixed(0)} ms)`);
      assert.match(r.headers, /retry-after: 2/i);
      assert.match(r.headers, /connection: close/i);
      assert.equal(JSON.parse(r.body).error.code, 'busy');
      const t0 = performance.now();
      const health = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(1000) });
      assert.equal(health.status, 200);
      assert.ok(performance.now() - t0 < 1000);
      identifier.release();
      for (const response of await Promise.all(held)) assert.equal(response.status, 200);
      assert.equal(identifier.calls, 2);
    } finally {
      identifier.release();
      await server.close();
    }
  });
});

describe('refusals are held, so clients that retry at once do not crowd the accept queue', () => {
  // Issue 10, item 7: at 400 clients, ~200 refused clients reconnecting at once filled the kernel's accept queue
  // (one FIFO with /healthz's connections). Before, every 503 came at once.
  test('a refused upload gets its 503 after the hold; beyond maxHeldRefusals, at once', async () => {
    const identifier = new HeldIdentifier();
    identifier.hold = true;
    const server = await start(identifier, { maxQueued: 1, refusalHoldMs: 600, maxHeldRefusals: 2 });
    try {
      const held = postPhoto(`${server.url}/api/identify`, photo);
      while (identifier.pending < 1) await new Promise((r) => setTimeout(r, 5));
      const request = 'POST /api/identify HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 5000000\r\n\r\n';
      const refused = await Promise.all([raw(server.port, request, 3000), raw(server.port, request, 3000), raw(server.port, request, 3000)]);
      assert.deepEqual(
        refused.map((r) => r.status),
        [503, 503, 503],
      );
      for (const r of refused) assert.match(r.headers, /retry-after: 2/i);
      const times = refused.map((r) => r.ms).sort((a, b) => a - b);
      assert.ok(times[0] < 400, `the refusal beyond the 2 held came at once (${times.map((t) => t.toFixed(0)).join(', ')} ms)`);
      assert.ok(times[1] >= 550 && times[2] >= 550, `two refusals were held ~600 ms (${times.map((t) => t.toFixed(0)).join(', ')} ms)`);
      const t0 = performance.now();
      const health = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(1000) });
      assert.equal(health.status, 200);
      assert.ok(performance.now() - t0 < 1000);
      identifier.release();
      assert.equal((await held).status, 200);
    } finally {
      identifier.release();
      await server.close();
    }
  });
});

describe('feedback/ is bounded', () => {
  const correction = { correctClass: 'Class B 1' };

  test('a 2048×2048 photo is stored at most 1024 px on its long side', async () => {
    const server = await start(new HeldIdentifier());
    try {
      const big = await sharp({ create: { width: 2048, height: 1536, channels: 3, background: '#20a040' } })
        .jpeg()
        .toBuffer();
      const response = await postPhoto(`${server.url}/api/feedback`, big, correction);
      assert.equal(response.status, 201);
      const { stored } = (await response.json()) as { stored: { photo: string } };
      const meta = await sharp(readFileSync(join(server.dir, stored.photo))).metadata();
      assert.deepEqual([meta.width, meta.height], [1024, 768]);
    } finally {
      await server.close();
    }
  });

  test('the same photo sent twice is stored once: 201, then 200 { duplicate: true } with the first id (also after a restart)', async () => {
    const server = await start(new HeldIdentifier());
    let first: { id: string; stored: { photo: string } };
    try {
      const a = await postPhoto(`${server.url}/api/feedback`, photo, correction);
      assert.equal(a.status, 201);
      first = (await a.json()) as typeof first;
      const b = await postPhoto(`${server.url}/api/feedback`, photo, correction);
      assert.equal(b.status, 200);
      const again = (await b.json()) as { id: string; duplicate: boolean };
      assert.deepEqual([again.id, again.duplicate], [first.id, true]);
    } finally {
      await server.close();
    }
    assert.equal(readdirSync(join(server.dir, 'feedback')).length, 2);
    // A new server on the same folder knows the photo from the records on disk.
    const restarted = await start(new HeldIdentifier(), { feedback: openStorage(server.dir) });
    try {
      const c = await postPhoto(`${restarted.url}/api/feedback`, photo, correction);
      assert.equal(c.status, 200);
      assert.equal(((await c.json()) as { id: string }).id, first.id);
    } finally {
      await restarted.close();
    }
  });

  test('once the folder holds --feedback-max-mb, a new correction → 507 feedback-full, nothing written', async () => {
    const server = await start(new HeldIdentifier(), { feedbackMaxBytes: 20_000 });
    try {
      const a = await postPhoto(`${server.url}/api/feedback`, photo, correction);
      assert.equal(a.status, 201, await a.clone().text());
      // Noise does not compress: ~50 kB stored, more than the room left.
      const noise = Buffer.from(Array.from({ length: 256 * 256 * 3 }, (_, i) => (i * 2654435761) >>> 24));
      const other = await sharp(noise, { raw: { width: 256, height: 256, channels: 3 } })
        .jpeg({ quality: 95 })
        .toBuffer();
      const b = await postPhoto(`${server.url}/api/feedback`, other, correction);
      assert.equal(b.status, 507);
      const body = (await b.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'feedback-full');
      assert.match(body.error.message, /feedback folder is full .*--feedback-max-mb/);
      assert.equal(readdirSync(join(server.dir, 'feedback')).length, 2);
    } finally {
      await server.close();
    }
  });
});
