import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import { timeout } from 'hono/timeout';
import { buildAnswer } from '../answer.js';
import { answerSchema, errorResponse, json, photoBinary, photoRouteLimits } from '../api-schemas.js';
import type { AppOptions } from '../context.js';
import { HttpError } from '../errors.js';
import { collectWhenIdle } from '../idle-gc.js';
import { formatBytes, incomingOf, readUpload, type Upload } from '../upload.js';

/** POST /api/identify as the OpenAPI document describes it (see registerIdentify for why it is not app.openapi). */
export function identifyRoute(options: Pick<AppOptions, 'maxUploadBytes' | 'rateLimitPerMinute'>) {
  const photoSchema = photoBinary.openapi({
    description: `The photo, at most ${formatBytes(options.maxUploadBytes)}: JPEG, PNG, WebP, GIF or TIFF, recognised from its bytes (name and Content-Type are ignored)`,
  });
  return createRoute({
    method: 'post',
    path: '/api/identify',
    summary: 'Identify the fruit in a photo',
    request: {
      query: z.object({ method: z.enum(['probe', 'knn']).default('probe').optional() }),
      body: {
        required: true,
        description: 'The photo as the multipart field "photo" (what the page sends), or as the whole raw body with any Content-Type',
        content: {
          'multipart/form-data': { schema: z.object({ photo: photoSchema, method: z.enum(['probe', 'knn']).optional() }) },
          'image/*': { schema: photoSchema },
          'application/octet-stream': { schema: photoSchema },
        },
      },
    },
    responses: {
      200: json('Top-5 answer, "not sure" flag, fruit card of the top answer', answerSchema),
      400: errorResponse('Empty body, no "photo" field, two "photo" files, a malformed form, or an unknown method'),
      405: errorResponse('Not a POST'),
      415: errorResponse('The bytes are not an image of a supported format'),
      422: errorResponse('Corrupt image, or more pixels than the decompression-bomb limit'),
      ...photoRouteLimits(options.rateLimitPerMinute),
    },
  });
}

/**
 * POST /api/identify: a photo (multipart field "photo", or the raw body) → the answer. Validation order is
 * cheapest first: the queue before anything is read, size while reading, then the decoder sniffs the bytes and
 * checks the pixel count before decoding anything.
 *
 * The route is registered for the document (openAPIRegistry.registerPath) and served by a plain handler chain,
 * not by app.openapi(): for a form body that adds @hono/zod-validator's form validator, which reads the body
 * with c.req.parseBody() (undici's formData(): the photo copied four or five times, through a web stream, a
 * Blob, a File; see upload.test.ts), before the queue check below, and a media-type gate that answers 415 to a
 * raw body with another Content-Type, which this route accepts (`curl --data-binary`).
 */
export function registerIdentify(app: OpenAPIHono, options: AppOptions): void {
  app.openAPIRegistry.registerPath(identifyRoute(options));
  // Requests admitted and not answered yet, counted from BEFORE their body is read: under a burst far above the
  // queue, each refused upload used to be read and parsed first (400 clients: served throughput halved, RSS
  // 0.5 → 1.4 GB). Refused ones cost a header parse; Connection: close drops the rest of their body.
  let admitted = 0;
  const limit = options.maxQueued ?? Infinity;
  // Refused requests are answered after a short hold, not at once. Clients that retry as soon as they get their
  // 503 (autocannon, a script, an impatient app) reconnect at once, and the kernel's accept queue is one FIFO for
  // every connection: at 400 clients and --queue 200, `ss` showed ~200 connections waiting there (of 511)
  // throughout the burst, and a /healthz connection waited 7-18 s behind them although the event loop never
  // stalled for more than 0.3 s. Held, a refused client waits on its own accepted connection (its body unread),
  // so the accept queue stays short. At most `maxHeld` at once; beyond, the answer is immediate.
  const hold = new RefusalHold(options.refusalHoldMs ?? DEFAULT_REFUSAL_HOLD_MS, options.maxHeldRefusals ?? DEFAULT_MAX_HELD_REFUSALS);
  // After a burst, the uploads' memory back to the system without waiting for V8's own schedule (see idle-gc.ts).
  collectWhenIdle(() => admitted > 0);

  const admit = createMiddleware(async (_c, next) => {
    // The identifier's own count too: a request that timed out here may still hold its place there.
    if (admitted >= limit || options.identifier.pending >= limit) {
      const busy = new HttpError(
        503,
        'busy',
        `${Math.max(admitted, options.identifier.pending)} photos are already being identified; try again in a few seconds`,
        { 'Retry-After': '2', Connection: 'close' },
      );
      await hold.wait();
      throw busy;
    }
    admitted++;
    try {
      await next();
    } finally {
      admitted--;
    }
  });
  // The size limit stays readUpload's own, not hono/body-limit: on a body without Content-Length, bodyLimit reads
  // it through the Request's web stream into a buffer of its own (one promise per chunk, the path that kept the
  // event loop from its sockets in a 400-client burst, see upload.ts), and readUpload would copy it once more.
  // readUpload counts the Node stream's chunks as they arrive, into the one buffer that is moved to the
  // identifier's thread.
  const read = createMiddleware<{ Variables: { upload: Upload } }>(async (c, next) => {
    c.set('upload', await readUpload(c.req.raw, options.maxUploadBytes, { incoming: incomingOf(c) }));
    await next();
  });
  // Only the model's part is timed (the upload's reading is bounded by the server's request timeout: a slow
  // client gets 408 from there). A request that times out stops counting as admitted at once; the identifier
  // still counts it as pending until the model is done with it.
  const answerInTime = timeout(
    options.requestTimeoutMs,
    () =>
      new HTTPException(503, {
        cause: new HttpError(503, 'timeout', `no answer within ${Math.round(options.requestTimeoutMs / 1000)} s: the server is overloaded; try again`, {
          'Retry-After': '5',
        }),
      }),
  );
  app.post('/api/identify', admit, read, answerInTime, async (c) => {
    const { photo, fields } = c.get('upload');
    const method = c.req.query('method') ?? fields.method;
    if (method !== undefined && method !== 'probe' && method !== 'knn') {
      throw new HttpError(400, 'bad-request', `method must be "probe" or "knn", not ${JSON.stringify(method)}`);
    }
    const identification = await options.identifier.identify(photo, method, { transfer: true });
    return c.json(buildAnswer(options.identifier.runId, identification, options.directory) satisfies z.input<typeof answerSchema>);
  });
  app.all('/api/identify', () => {
    throw new HttpError(405, 'bad-request', 'use POST with a photo', { Allow: 'POST' });
  });
}

/** How long a refused identify request is held before its 503 (see registerIdentify), and how many at once. */
export const DEFAULT_REFUSAL_HOLD_MS = 1000;
export const DEFAULT_MAX_HELD_REFUSALS = 1000;

/** A bounded number of refusals waiting out their hold. */
class RefusalHold {
  private held = 0;

  constructor(
    private readonly ms: number,
    private readonly max: number,
  ) {}

  async wait(): Promise<void> {
    if (this.ms <= 0 || this.held >= this.max) return;
    this.held++;
    try {
      await new Promise((resolve) => setTimeout(resolve, this.ms));
    } finally {
      this.held--;
    }
  }
}
