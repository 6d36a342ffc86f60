import type { Hono } from 'hono';
import { buildAnswer } from '../answer.js';
import type { AppOptions } from '../context.js';
import { HttpError } from '../errors.js';
import { collectWhenIdle } from '../idle-gc.js';
import { incomingOf, readUpload } from '../upload.js';

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
  // Refused requests are answered after a short hold, not at once. Clients that retry as soon as they get their
  // 503 (autocannon, a script, an impatient app) reconnect at once, and the kernel's accept queue is one FIFO for
  // every connection: at 400 clients and --queue 200, `ss` showed ~200 connections waiting there (of 511)
  // throughout the burst, and a /healthz connection waited 7-18 s behind them although the event loop never
  // stalled for more than 0.3 s. Held, a refused client waits on its own accepted connection (its body unread),
  // so the accept queue stays short. At most `maxHeld` at once; beyond, the answer is immediate.
  const hold = new RefusalHold(options.refusalHoldMs ?? DEFAULT_REFUSAL_HOLD_MS, options.maxHeldRefusals ?? DEFAULT_MAX_HELD_REFUSALS);
  // After a burst, the uploads' memory back to the system without waiting for V8's own schedule (see idle-gc.ts).
  collectWhenIdle(() => admitted > 0);
  app.post('/api/identify', async (c) => {
    // The identifier's own count too: a request that timed out here may still hold its place there.
    if (admitted >= limit || options.identifier.pending >= limit) {
      const busy = new HttpError(503, 'busy', `${Math.max(admitted, options.identifier.pending)} photos are already being identified; try again in a few seconds`, { 'Retry-After': '2', Connection: 'close' });
      await hold.wait();
      throw busy;
    }
    admitted++;
    try {
      const { photo, fields } = await readUpload(c.req.raw, options.maxUploadBytes, { incoming: incomingOf(c) });
      const method = (c.req.query('method') ?? fields.method) as string | undefined;
      if (method !== undefined && method !== 'probe' && method !== 'knn') {
        throw new HttpError(400, 'bad-request', `method must be "probe" or "knn", not ${JSON.stringify(method)}`);
      }
      const identification = await withTimeout(options.identifier.identify(photo, method, { transfer: true }), options.requestTimeoutMs);
      return c.json(buildAnswer(options.identifier.runId, identification, options.directory));
    } finally {
      admitted--;
    }
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
