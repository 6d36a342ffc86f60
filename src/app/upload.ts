import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { acceptFirst } from './accept-first.js';
import { CpuTurns } from './cpu-turns.js';
import { HttpError } from './errors.js';
import { multipartBoundary, MultipartError, parseMultipart } from './multipart.js';

/** Room for the multipart envelope and small text fields around the photo. */
export const MULTIPART_OVERHEAD = 64 * 1024;

/** The forms of all requests are parsed a few per event-loop iteration. */
const parsing = new CpuTurns();

/**
 * The Node request behind a Hono context when @hono/node-server serves it (`c.env.incoming`), so that the upload
 * can be read from it directly; undefined for a plain `app.fetch(request)`.
 */
export function incomingOf(c: Context): IncomingMessage | undefined {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  return incoming && typeof (incoming as IncomingMessage).on === 'function' && 'headers' in (incoming as object) ? (incoming as IncomingMessage) : undefined;
}

/**
 * The 413 of a body over `maxBytes`. The rest of the body is never read: the connection is closed after the answer
 * so the client cannot reuse a socket that still carries the unread bytes.
 */
export function uploadTooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'too-large', `the upload is larger than the limit of ${formatBytes(maxBytes)} (--max-upload-mb); send a smaller photo`, {
    Connection: 'close',
  });
}

/**
 * Reads a request body, refusing (413) as soon as it exceeds `maxBytes`: a declared Content-Length is checked
 * before reading anything, a chunked body is counted while it streams, so an oversized upload never sits
 * whole in memory.
 *
 * With `incoming` (the Node request, see incomingOf) the bytes come from its 'data' events and are joined once.
 * The Request's web stream that @hono/node-server builds over the same socket is the slow way: one promise per
 * chunk through a stream adapter, and in a 400-client burst those chains kept the event loop from its sockets
 * (see multipart.ts).
 */
export async function readLimitedBody(request: Request, maxBytes: number, incoming?: IncomingMessage): Promise<Uint8Array> {
  const tooLarge = () => uploadTooLarge(maxBytes);
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge();
  // A body someone already started reading cannot be read from the Node stream again (its 'end' has passed).
  if (incoming && !incoming.readableDidRead && !incoming.readableEnded) return readIncoming(incoming, maxBytes, tooLarge);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return joined(chunks, size);
}

/** The chunks in one new buffer of their own: never a slice of Node's shared pool, so it can be moved. */
function joined(chunks: Uint8Array[], size: number): Buffer {
  const whole = Buffer.allocUnsafeSlow(size);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.length;
  }
  return whole;
}

/**
 * The body of a Node request. With a Content-Length the buffer is allocated once, outside Node's shared pool (so
 * the photo in it can be moved to the identifier's thread), and each chunk is copied into place as it arrives:
 * the copying is spread over the upload instead of done at its end, when a burst's uploads all end together.
 */
function readIncoming(incoming: IncomingMessage, maxBytes: number, tooLarge: () => HttpError): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(incoming.headers['content-length']);
    // Node's HTTP parser delivers exactly Content-Length bytes, and the caller refused one over maxBytes.
    const whole = Number.isSafeInteger(declared) && declared > 0 && declared <= maxBytes ? Buffer.allocUnsafeSlow(declared) : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    // Paused while a burst of new connections is accepted (see accept-first.ts); adding 'data' does not undo that.
    const untrack = acceptFirst.track(incoming);
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      untrack();
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
      if (error) {
        // Stop pulling the socket: the answer closes the connection (Connection: close) without the rest.
        incoming.pause();
        reject(error);
      } else {
        resolve(whole ? whole.subarray(0, size) : joined(chunks, size));
      }
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
      size += bytes.length;
      if (size > maxBytes) return finish(tooLarge());
      if (!whole) chunks.push(bytes);
      else if (size <= whole.length) bytes.copy(whole, size - bytes.length);
      else finish(new HttpError(400, 'bad-request', 'the body is longer than its Content-Length', { Connection: 'close' }));
    };
    const onEnd = () => finish();
    // The client went away mid-upload: nobody reads the answer, but it is a client's doing, not a server error
    // to log with a stack.
    const interrupted = () => new HttpError(400, 'bad-request', 'the upload was interrupted before its end', { Connection: 'close' });
    const onError = () => finish(interrupted());
    const onClose = () => {
      if (!incoming.complete) return finish(interrupted());
      // The whole body arrived before the client closed its socket: what is still buffered is the end of it.
      for (let chunk = incoming.read() as Buffer | string | null; chunk !== null && !settled; chunk = incoming.read() as Buffer | string | null) onData(chunk);
      finish();
    };
    incoming.on('data', onData);
    incoming.once('end', onEnd);
    incoming.once('error', onError);
    incoming.once('close', onClose);
  });
}

export interface Upload {
  /**
   * A view into a buffer that belongs to this upload alone (never Node's shared pool, never a socket's read
   * buffer): nothing else reads it, so it can be moved to another thread instead of copied.
   */
  photo: Uint8Array;
  /** Text fields of a multipart form (empty for a raw body). */
  fields: Record<string, string>;
}

/**
 * The photo of a request: the `photo` field of a multipart form, or else the whole raw body whatever its
 * Content-Type (`curl --data-binary @photo.jpg` sends application/x-www-form-urlencoded). The type is never
 * trusted: the decoder sniffs the bytes.
 */
export async function readUpload(
  request: Request,
  maxPhotoBytes: number,
  options: { requirePhoto?: boolean; incoming?: IncomingMessage } = {},
): Promise<Upload> {
  const type = request.headers.get('content-type') ?? '';
  const multipart = /^multipart\/form-data/i.test(type);
  const body = await readLimitedBody(request, multipart ? maxPhotoBytes + MULTIPART_OVERHEAD : maxPhotoBytes, options.incoming);
  if (!multipart) {
    if (body.length === 0)
      throw new HttpError(400, 'empty-upload', 'no photo: the request body is empty. Send the image as the body or as the multipart field "photo".');
    return { photo: body, fields: {} };
  }
  let parts;
  try {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    // Not as each body ends: a burst's uploads end together (see cpu-turns.ts).
    parts = await parsing.run(() => parseMultipart(bytes, multipartBoundary(type)));
  } catch (error) {
    if (!(error instanceof MultipartError)) throw error;
    throw new HttpError(400, 'bad-request', `malformed multipart form: ${error.message}`, {}, { cause: error });
  }
  const fields: Record<string, string> = {};
  let photo: Uint8Array | undefined;
  const photos = parts.filter((part) => part.name === 'photo' && part.filename !== undefined).length;
  // One photo per request: answering for the first of several would silently drop the others.
  if (photos > 1) throw new HttpError(400, 'bad-request', `the form has ${photos} files named "photo"; send one photo per request`);
  // As a browser's FormData: a part with a filename is a file (only "photo" is used), any other a text field.
  for (const part of parts) {
    if (part.filename === undefined) fields[part.name] = part.data.toString('utf8');
    else if (part.name === 'photo') photo = part.data;
  }
  if (!photo) {
    if (options.requirePhoto === false) return { photo: new Uint8Array(0), fields };
    throw new HttpError(400, 'missing-photo', 'the form has no file field "photo"');
  }
  if (photo.length > maxPhotoBytes) throw new HttpError(413, 'too-large', `the photo is larger than the limit of ${formatBytes(maxPhotoBytes)}`);
  if (photo.length === 0) throw new HttpError(400, 'empty-upload', 'the photo is empty (0 bytes)');
  return { photo, fields };
}

export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MB` : `${Math.ceil(bytes / 1024)} kB`;
}
