import type { Hono } from 'hono';
import { buildAnswer } from '../answer.js';
import type { AppOptions } from '../context.js';
import { HttpError } from '../errors.js';
import { readUpload } from '../upload.js';

/**
 * POST /api/identify: a photo (multipart field "photo", or the raw body) → the answer. Validation order is
 * cheapest first: size while reading, then the decoder sniffs the bytes and checks the pixel count before
 * decoding anything.
 */
export function registerIdentify(app: Hono, options: AppOptions): void {
  // Requests admitted and not answered yet, counted from BEFORE their body is read: under a burst far above the
  // queue, each refused upload used to be read and parsed first (400 clients: served throughput halved, RSS
  // 0.5 → 1.4 GB). Refused ones cost a header parse; Connection: close drops the rest of their body.
  let admitted = 0;
  const limit = options.maxQueued ?? Infinity;
  app.post('/api/identify', async (c) => {
    // The identifier's own count too: a request that timed out here may still hold its place there.
    if (admitted >= limit || options.identifier.pending >= limit) {
      throw new HttpError(503, 'busy', `${Math.max(admitted, options.identifier.pending)} photos are already being identified; try again in a few seconds`, { 'Retry-After': '2', Connection: 'close' });
    }
    admitted++;
    try {
      const { photo, fields } = await readUpload(c.req.raw, options.maxUploadBytes);
      const method = (c.req.query('method') ?? fields.method) as string | undefined;
      if (method !== undefined && method !== 'probe' && method !== 'knn') {
        throw new HttpError(400, 'bad-request', `method must be "probe" or "knn", not ${JSON.stringify(method)}`);
      }
      const identification = await withTimeout(options.identifier.identify(photo, method), options.requestTimeoutMs);
      return c.json(buildAnswer(options.identifier.runId, identification, options.directory));
    } finally {
      admitted--;
    }
  });
  app.all('/api/identify', () => {
    throw new HttpError(405, 'bad-request', 'use POST with a photo', { Allow: 'POST' });
  });
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new HttpError(503, 'timeout', `no answer within ${Math.round(ms / 1000)} s: the server is overloaded; try again`, { 'Retry-After': '5' })),
      ms,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
