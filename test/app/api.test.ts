import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import vm from 'node:vm';
import sharp from 'sharp';
import { pngBomb } from '../support/synthetic-images.js';
import { postPhoto, startTestServer, type TestServer } from './support/server.js';
import { syntheticRun, type SyntheticRun } from './support/runs.js';

let synthetic: SyntheticRun;
let server: TestServer;
let photoA: Buffer;

before(async () => {
  synthetic = await syntheticRun();
  server = await startTestServer(synthetic.run, synthetic.model, { maxUploadBytes: 256 * 1024 });
  photoA = readFileSync(join(synthetic.images, 'Class A 1', '2_100.jpg'));
});

after(async () => {
  await server?.stop();
});

async function json(response: Response): Promise<any> {
  return response.json();
}

async function errorOf(response: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, code: body.error.code, message: body.error.message };
}

describe('POST /api/identify on a synthetic run (tiny model)', () => {
  test('a good photo as multipart: the right class top-1, top-5 with scores, timings', async () => {
    const response = await postPhoto(`${server.url}/api/identify`, photoA);
    assert.equal(response.status, 200);
    const answer = await json(response);
    assert.equal(answer.predictions[0].class, 'Class A 1');
    assert.ok(answer.predictions.length <= 5 && answer.predictions.length >= 2);
    assert.ok(answer.predictions[0].score > answer.predictions[1].score);
    assert.deepEqual(answer.predictions[0].label, { en: 'Class A', fr: 'Class A' }, 'classes unknown to the catalog get a label from their name');
    assert.equal(answer.fruit, null);
    assert.equal(answer.knn[0].class, 'Class A 1');
    assert.equal(typeof answer.notSure, 'boolean');
    assert.ok(answer.timings.totalMs > 0 && answer.timings.inferenceMs > 0);
    assert.deepEqual(answer.image, { format: 'jpeg', width: 100, height: 100, bytes: photoA.length });
  });

  test('the same photo as a raw body with a misleading content type gives the same answer', async () => {
    for (const type of ['application/octet-stream', 'image/png', 'application/x-www-form-urlencoded']) {
      const response = await fetch(`${server.url}/api/identify`, { method: 'POST', body: photoA, headers: { 'content-type': type } });
      assert.equal(response.status, 200, type);
      assert.equal((await json(response)).predictions[0].class, 'Class A 1', type);
    }
  });

  test('?method=knn answers with vote shares', async () => {
    const answer = await json(await postPhoto(`${server.url}/api/identify?method=knn`, photoA));
    assert.equal(answer.method, 'knn');
    assert.equal(answer.predictions[0].class, 'Class A 1');
    assert.ok(answer.predictions[0].score >= 0.7, 'the 8 class-A references are among the 10 voters');
  });

  test('empty body → 400, multipart without a photo → 400, empty photo → 400', async () => {
    let e = await errorOf(await fetch(`${server.url}/api/identify`, { method: 'POST' }));
    assert.deepEqual([e.status, e.code], [400, 'empty-upload']);
    const form = new FormData();
    form.append('note', 'no photo here');
    e = await errorOf(await fetch(`${server.url}/api/identify`, { method: 'POST', body: form }));
    assert.deepEqual([e.status, e.code], [400, 'missing-photo']);
    e = await errorOf(await postPhoto(`${server.url}/api/identify`, new Uint8Array(0)));
    assert.deepEqual([e.status, e.code], [400, 'empty-upload']);
  });

  test('text named photo.jpg → 415 that says it is text', async () => {
    const e = await errorOf(await postPhoto(`${server.url}/api/identify`, Buffer.from('just some text, not a jpeg\n'), {}, 'photo.jpg'));
    assert.deepEqual([e.status, e.code], [415, 'not-an-image']);
    assert.match(e.message, /text/);
  });

  test('wrong type: a PDF or a BMP sent as image/jpeg → 415', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n');
    let e = await errorOf(await fetch(`${server.url}/api/identify`, { method: 'POST', body: pdf, headers: { 'content-type': 'image/jpeg' } }));
    assert.deepEqual([e.status, e.code], [415, 'not-an-image']);
    const bmp = Buffer.concat([Buffer.from('BM'), Buffer.alloc(200, 1)]);
    e = await errorOf(await postPhoto(`${server.url}/api/identify`, bmp, {}, 'photo.bmp'));
    assert.deepEqual([e.status, e.code], [415, 'not-an-image']);
  });

  test('oversize → 413, by Content-Length and by counting a chunked body', async () => {
    const big = Buffer.concat([photoA, Buffer.alloc(300 * 1024)]);
    let e = await errorOf(await fetch(`${server.url}/api/identify`, { method: 'POST', body: big }));
    assert.deepEqual([e.status, e.code], [413, 'too-large']);
    assert.match(e.message, /256 kB/);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(40 * 1024));
        controller.close();
      },
    });
    e = await errorOf(await fetch(`${server.url}/api/identify`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit));
    assert.deepEqual([e.status, e.code], [413, 'too-large']);
    e = await errorOf(await postPhoto(`${server.url}/api/identify`, big));
    assert.deepEqual([e.status, e.code], [413, 'too-large']);
  });

  test('decompression bomb (20000×20000 PNG, 50 kB) → 422 too-many-pixels', async () => {
    const bomb = pngBomb();
    assert.ok(bomb.length < 256 * 1024);
    const e = await errorOf(await postPhoto(`${server.url}/api/identify`, bomb, {}, 'bomb.png'));
    assert.deepEqual([e.status, e.code], [422, 'too-many-pixels']);
  });

  test('corrupt JPEG and truncated PNG → 422 corrupt-image', async () => {
    const corrupt = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(500, 0x42)]);
    let e = await errorOf(await postPhoto(`${server.url}/api/identify`, corrupt));
    assert.deepEqual([e.status, e.code], [422, 'corrupt-image']);
    const png = await sharp({ create: { width: 80, height: 80, channels: 3, background: '#3a7' } })
      .png()
      .toBuffer();
    e = await errorOf(await postPhoto(`${server.url}/api/identify`, png.subarray(0, png.length - 40), {}, 'cut.png'));
    assert.deepEqual([e.status, e.code], [422, 'corrupt-image']);
  });

  test('a malformed multipart body → 400, GET → 405', async () => {
    const e = await errorOf(
      await fetch(`${server.url}/api/identify`, { method: 'POST', body: 'garbage', headers: { 'content-type': 'multipart/form-data; boundary=xyz' } }),
    );
    assert.deepEqual([e.status, e.code], [400, 'bad-request']);
    const get = await fetch(`${server.url}/api/identify`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
  });

  test('50 concurrent clients all get answers: queued and batched through one model session', async () => {
    const responses = await Promise.all(Array.from({ length: 50 }, () => postPhoto(`${server.url}/api/identify`, photoA)));
    const answers = await Promise.all(responses.map(json));
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(50).fill(200),
    );
    assert.ok(answers.every((a) => a.predictions[0].class === 'Class A 1'));
    assert.ok(Math.max(...answers.map((a) => a.timings.batchSize)) > 1, 'photos that waited together were batched');
  });
});

describe('limits that need their own server', () => {
  test('rate limit: the 4th photo in a minute from one client → 429 with Retry-After; other routes stay free', async () => {
    const limited = await startTestServer(synthetic.run, synthetic.model, { rateLimitPerMinute: 3 });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await postPhoto(`${limited.url}/api/identify`, photoA)).status, 200);
      const refused = await postPhoto(`${limited.url}/api/identify`, photoA);
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.equal((await errorOf(refused)).code, 'rate-limited');
      assert.equal((await fetch(`${limited.url}/healthz`)).status, 200);
    } finally {
      await limited.stop();
    }
  });

  test('queue full → 503 with Retry-After, never a 500, and every admitted photo is answered', async () => {
    const small = await startTestServer(synthetic.run, synthetic.model, {}, { maxWaiting: 3, maxBatch: 1 });
    try {
      const responses = await Promise.all(Array.from({ length: 20 }, () => postPhoto(`${small.url}/api/identify`, photoA)));
      const statuses = responses.map((r) => r.status);
      assert.ok(
        statuses.every((s) => s === 200 || s === 503),
        statuses.join(','),
      );
      assert.ok(statuses.includes(503) && statuses.includes(200), statuses.join(','));
      const bodies = await Promise.all(responses.map(json));
      const refused = responses.findIndex((r) => r.status === 503);
      assert.equal(responses[refused].headers.get('retry-after'), '2');
      assert.equal(bodies[refused].error.code, 'busy');
      assert.ok(bodies.filter((_, i) => statuses[i] === 200).every((b) => b.predictions[0].class === 'Class A 1'));
    } finally {
      await small.stop();
    }
  });
});

describe('feedback, fruits, health, OpenAPI and the page', () => {
  test('POST /api/feedback stores the photo (JPEG, no metadata) and the correction under <run>/feedback/', async () => {
    const withExif = await sharp(photoA)
      .withMetadata({ exif: { IFD0: { Copyright: 'secret place' } } })
      .jpeg()
      .toBuffer();
    const response = await postPhoto(`${server.url}/api/feedback`, withExif, {
      correctClass: 'Class B 1',
      predictedClass: 'Class A 1',
      note: 'it was B',
      lang: 'en',
    });
    assert.equal(response.status, 201);
    const { id, stored } = await json(response);
    const files = readdirSync(join(synthetic.run, 'feedback')).sort();
    assert.deepEqual(files, [stored.photo.slice('feedback/'.length), stored.record.slice('feedback/'.length)].sort());
    assert.match(stored.photo, /^feedback\/\d{8}T\d{6}Z-[0-9a-f]{8}\.jpg$/);
    const record = JSON.parse(readFileSync(join(synthetic.run, stored.record), 'utf8'));
    assert.equal(record.id, id);
    assert.equal(record.correctClass, 'Class B 1');
    assert.equal(record.predictedClass, 'Class A 1');
    assert.equal(record.note, 'it was B');
    assert.equal(record.runId, server.identifier.runId);
    assert.equal(record.photo.original.bytes, withExif.length);
    const meta = await sharp(readFileSync(join(synthetic.run, stored.photo))).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.exif, undefined, 'metadata (EXIF, GPS) is not stored');
  });

  test('feedback with an unknown class → 400, with a text "photo" → 415; nothing stored', async () => {
    const before = readdirSync(join(synthetic.run, 'feedback')).length;
    let e = await errorOf(await postPhoto(`${server.url}/api/feedback`, photoA, { correctClass: 'Durian 1' }));
    assert.deepEqual([e.status, e.code], [400, 'invalid-feedback']);
    e = await errorOf(await postPhoto(`${server.url}/api/feedback`, Buffer.from('hello'), { correctClass: 'Class A 1' }));
    assert.deepEqual([e.status, e.code], [415, 'not-an-image']);
    assert.equal(readdirSync(join(synthetic.run, 'feedback')).length, before);
  });

  test('GET /api/fruits lists the classes; /api/fruits/:id 404s as JSON for an unknown id', async () => {
    const body = await json(await fetch(`${server.url}/api/fruits`));
    assert.deepEqual(
      body.classes.map((c: { class: string }) => c.class),
      synthetic.classes,
    );
    const missing = await fetch(`${server.url}/api/fruits/durian`);
    assert.equal(missing.status, 404);
    assert.equal((await json(missing)).error.code, 'not-found');
  });

  test('GET /healthz: 200, run id and model sha256', async () => {
    const health = await json(await fetch(`${server.url}/healthz`));
    assert.equal(health.status, 'ok');
    assert.equal(health.runId, server.identifier.runId);
    assert.match(health.modelSha256, /^[0-9a-f]{64}$/);
    assert.equal(health.classes, 4);
  });

  test('GET /openapi.json: OpenAPI 3 with every route', async () => {
    const doc = await json(await fetch(`${server.url}/openapi.json`));
    assert.match(doc.openapi, /^3\./);
    assert.deepEqual(Object.keys(doc.paths).sort(), ['/api/feedback', '/api/fruits', '/api/fruits/{id}', '/api/identify', '/healthz']);
  });

  test('GET /: French page with a camera input, aria-live result, local assets only, strict CSP; the script parses', async () => {
    const response = await fetch(`${server.url}/`);
    const html = await response.text();
    assert.match(html, /<html lang="fr">/);
    assert.match(html, /<input id="camera"[^>]*type="file" accept="image\/\*" capture="environment"/);
    assert.match(html, /aria-live="polite"/);
    assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org)/, 'no external URL');
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
    const script = html.match(/src="(\/app\.js\?v=\w+)"/)![1];
    const js = await fetch(`${server.url}${script}`);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    const source = await js.text();
    assert.doesNotThrow(() => new vm.Script(source, { filename: 'app.js' }));
    const css = html.match(/href="(\/styles\.css\?v=\w+)"/)![1];
    assert.equal((await fetch(`${server.url}${css}`)).status, 200);
  });

  test('unknown route → JSON 404', async () => {
    const response = await fetch(`${server.url}/nope`);
    assert.equal(response.status, 404);
    assert.equal((await json(response)).error.code, 'not-found');
  });
});
