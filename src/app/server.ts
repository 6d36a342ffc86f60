import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, Hono } from 'hono';
import type { BlankEnv } from 'hono/types';
import { secureHeaders } from 'hono/secure-headers';
import { acceptFirst } from './accept-first.js';
import type { AppOptions } from './context.js';
import { describeIssues } from '../errors/issues.js';
import { HttpError, httpErrorOf, type ErrorCode } from './errors.js';
import { FeedbackStore } from './feedback-store.js';
import { rateLimit } from './middleware/rate-limit.js';
import { registerFeedback } from './routes/feedback.js';
import { registerFruits } from './routes/fruits.js';
import { registerHealth } from './routes/health.js';
import { registerIdentify } from './routes/identify.js';
import { registerWeb } from './routes/web.js';

export type { AppOptions, PhotoIdentifier } from './context.js';

/** Default limits of `fruits serve` (each has an option). */
export const DEFAULT_LIMITS = {
  maxUploadBytes: 10 * 1024 * 1024,
  rateLimitPerMinute: 30,
  requestTimeoutMs: 30_000,
  feedbackMaxBytes: 500 * 1024 * 1024,
} as const;

/**
 * The page's policy: its script and stylesheet from the app itself (no inline script or style: app-script.ts
 * sets styles through the CSSOM, which style-src does not govern), the preview as a blob: URL, the favicon as a
 * data: URL, fetch only to the API. Sent with every answer: the API's JSON needs no more.
 */
const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'blob:', 'data:'],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  baseUri: ["'none'"],
  frameAncestors: ["'none'"],
};

/** The Hono app: routes, limits and the error contract (JSON errors, never a 500 for a bad upload). */
export function createApp(options: AppOptions): OpenAPIHono<BlankEnv> {
  const app = new OpenAPIHono<BlankEnv>({
    // A request that fails a route's declared schema answers like every other error (see httpErrorOf).
    defaultHook: (result) => {
      if (!result.success) {
        throw new HttpError(400, 'bad-request', `invalid request: ${describeIssues(result.error, 'request')}`, {}, { cause: result.error });
      }
    },
  });
  const log = options.log;

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    log?.({ method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) });
  });
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: CONTENT_SECURITY_POLICY,
      // HSTS is for the TLS end: the app itself speaks plain HTTP (behind a reverse proxy for HTTPS), and a
      // max-age with includeSubDomains sent from here would bind the whole domain to what this app is told.
      strictTransportSecurity: false,
      xFrameOptions: 'DENY',
    }),
  );

  if (options.rateLimitPerMinute > 0) {
    const limiter = rateLimit({ perMinute: options.rateLimitPerMinute, keyOf: (c) => clientIp(c, options.trustProxy) });
    // Only the photo endpoints cost model time; pages, cards and health checks are free.
    app.use('/api/identify', limiter);
    app.use('/api/feedback', limiter);
  }

  registerIdentify(app, options);
  registerFeedback(app, options, new FeedbackStore(options.feedback, options.feedbackMaxBytes ?? DEFAULT_LIMITS.feedbackMaxBytes));
  registerFruits(app, options);
  registerHealth(app, options);
  registerWeb(app, options);

  app.notFound((c) => c.json({ error: { code: 'not-found', message: `no route ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((error, c) => {
    const known = httpErrorOf(error);
    if (known) {
      for (const [name, value] of Object.entries(known.headers)) c.header(name, value);
      return c.json({ error: { code: known.code, message: known.message } }, known.status);
    }
    // A bug or an engine failure, not the client's fault: the details go to the log, not to the client.
    process.stderr.write(`fruits serve: ${c.req.method} ${c.req.path} failed: ${(error as Error).stack ?? String(error)}\n`);
    return c.json({ error: { code: 'internal', message: 'internal error; it has been logged' } }, 500);
  });
  return app;
}

/** The client's address: the socket's, or the first X-Forwarded-For hop behind a trusted proxy. */
function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
    if (forwarded) return forwarded;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface RunningServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** Starts the app on host:port (port 0: any free port) with socket-level timeouts against slow clients. */
export function startServer(app: Hono, options: { port: number; host: string; requestTimeoutMs: number }): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, (info: AddressInfo) => {
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host === '0.0.0.0' || host === '[::]' ? 'localhost' : host}:${info.port}`,
        port: info.port,
        server: server as Server,
        close: () =>
          new Promise<void>((done) => {
            (server as Server).closeAllConnections?.();
            server.close(() => done());
          }),
      });
    }) as Server;
    // Requests Node's HTTP parser rejects before any route runs (headers over 16 KB, a bad Content-Length, a timed-out
    // request) get the API's JSON error shape too, instead of Node's empty-bodied default.
    server.on('clientError', (error: NodeJS.ErrnoException, socket) => answerClientError(error, socket));
    // A burst of new connections is accepted before the uploads in progress get more reading (see accept-first.ts).
    acceptFirst.watch(server);
    // A client that trickles its headers or body (slowloris) is cut off; the identify route has its own timer.
    server.headersTimeout = 20_000;
    server.requestTimeout = options.requestTimeoutMs + 30_000;
    server.keepAliveTimeout = 5_000;
    server.once('error', reject);
  });
}

const CLIENT_ERRORS: Record<string, [number, string, ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'headers-too-large', 'the request headers are larger than 16 KB'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'timeout', 'the request was not received in time'],
  ERR_HTTP_HEADERS_TIMEOUT: [408, 'Request Timeout', 'timeout', 'the request headers were not received in time'],
};

function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // A peer that already went away gets nothing; one whose response is under way cannot get another.
  if (error.code === 'ECONNRESET' || !socket.writable || (socket as Duplex & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] = CLIENT_ERRORS[error.code ?? ''] ?? [
    400,
    'Bad Request',
    'bad-request',
    `malformed HTTP request (${error.code ?? error.message})`,
  ];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
  );
}
