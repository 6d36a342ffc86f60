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
  app.post('/api/identify', async (c) => {
    const { photo, fields } = await readUpload(c.req.raw, options.maxUploadBytes);
    const method = (c.req.query('method') ?? fields.method) as string | undefined;
    if (method !== undefined && method !== 'probe' && method !== 'knn') {
      throw new HttpError(400, 'bad-request', `method must be "probe" or "knn", not ${JSON.stringify(method)}`);
    }
    const identification = await withTimeout(options.identifier.identify(photo, method), options.requestTimeoutMs);
    return c.json(buildAnswer(options.identifier.runId, identification, options.directory));
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
