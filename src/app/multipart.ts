/**
 * A multipart/form-data parser (RFC 7578) over a body already in memory, for the app's uploads: one photo and a
 * few text fields.
 *
 * Why not `new Request(…).formData()`: undici's parser copies a 1 MB photo four or five times (into a stream,
 * into a Blob, into a File, out through arrayBuffer()) and runs as a chain of promises. In a 400-client burst
 * (issue 10 item 7) the HTTP thread spent most of its time there and in the garbage collector behind it, and
 * because that chain runs in microtasks the event loop did not get back to its sockets for seconds: /healthz's
 * connection was accepted at once (the listen backlog never overflowed) but its request waited 3.7–7 s to be
 * read. Here a part's content is a view into the body (no copy) and finding it is one `Buffer.indexOf` per
 * boundary.
 */

/** A form the parser cannot read; the routes answer it with 400. */
export class MultipartError extends Error {
  override name = 'MultipartError';
}

export interface MultipartPart {
  /** The `name` of the part's Content-Disposition. */
  name: string;
  /** Present for a file (even empty): the `filename` (or `filename*`) of its Content-Disposition. */
  filename?: string;
  contentType?: string;
  /** The part's bytes: a view into the body, not a copy. */
  data: Buffer;
}

/** The boundary of a multipart/form-data Content-Type (quoted or not). */
export function multipartBoundary(contentType: string): string {
  const found = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = found?.[1] ?? found?.[2];
  if (!boundary) throw new MultipartError('the Content-Type has no boundary');
  // RFC 2046: 1 to 70 characters.
  if (boundary.length > 70) throw new MultipartError('the boundary is longer than 70 characters');
  return boundary;
}

const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const HEADERS_END = Buffer.from('\r\n\r\n');

/**
 * The parts of a multipart/form-data body, in order. A preamble before the first boundary and an epilogue after
 * the closing one are ignored, as RFC 2046 says; anything else that does not follow the format throws.
 */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const opening = Buffer.from(`--${boundary}`);
  // Every boundary but a first one at the very start of the body follows a line break that belongs to it.
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let position: number;
  if (body.length >= opening.length && body.compare(opening, 0, opening.length, 0, opening.length) === 0) {
    position = opening.length;
  } else {
    const first = body.indexOf(delimiter);
    if (first < 0) throw new MultipartError('the body does not contain the boundary of its Content-Type');
    position = first + delimiter.length;
  }
  const parts: MultipartPart[] = [];
  for (;;) {
    if (body[position] === DASH && body[position + 1] === DASH) return parts;
    // Transport padding after a boundary, then its line break.
    while (body[position] === 0x20 || body[position] === 0x09) position++;
    if (body[position] !== CR || body[position + 1] !== LF) {
      throw new MultipartError(position >= body.length ? 'the form ends before its closing boundary' : 'a boundary is not followed by a line break');
    }
    position += 2;
    // A part with no header lines at all starts with the empty line itself.
    const headersEnd = body[position] === CR && body[position + 1] === LF ? position - 2 : body.indexOf(HEADERS_END, position);
    if (headersEnd < 0) throw new MultipartError('a part has no end to its headers');
    const headers = partHeaders(body.toString('utf8', position, Math.max(position, headersEnd)));
    const start = headersEnd + HEADERS_END.length;
    const end = body.indexOf(delimiter, start);
    if (end < 0) throw new MultipartError('the form ends before its closing boundary');
    parts.push({ ...headers, data: body.subarray(start, end) });
    position = end + delimiter.length;
  }
}

/** Content-Disposition (required, form-data with a name) and Content-Type of a part. */
function partHeaders(block: string): Omit<MultipartPart, 'data'> {
  let disposition: string | undefined;
  let contentType: string | undefined;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') disposition = value;
    else if (name === 'content-type') contentType = value;
  }
  if (!disposition || !/^form-data\s*(;|$)/i.test(disposition)) throw new MultipartError('a part has no "Content-Disposition: form-data" header');
  const params = new Map<string, string>();
  for (const match of disposition.matchAll(/;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g)) {
    params.set(match[1].toLowerCase(), match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3].trim());
  }
  const name = params.get('name');
  if (name === undefined) throw new MultipartError('a part has no name');
  let filename = params.get('filename');
  // RFC 5987 (filename*=UTF-8''…) wins over the plain one when both are given and it decodes.
  const extended = /^utf-8'[^']*'(.*)$/i.exec(params.get('filename*') ?? '');
  if (extended) {
    try {
      filename = decodeURIComponent(extended[1]);
    } catch {
      // Keep the plain filename.
    }
  }
  return { name, ...(filename !== undefined || params.has('filename*') ? { filename: filename ?? '' } : {}), ...(contentType ? { contentType } : {}) };
}
