import { HttpError } from './errors.js';

/** Room for the multipart envelope and small text fields around the photo. */
const MULTIPART_OVERHEAD = 64 * 1024;

/**
 * Reads a request body, refusing (413) as soon as it exceeds `maxBytes`: a declared Content-Length is checked
 * before reading anything, a chunked body is counted while it streams, so an oversized upload never sits
 * whole in memory.
 */
export async function readLimitedBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  // The rest of the body is never read: the connection is closed after the answer so the client cannot reuse a
  // socket that still carries the unread bytes.
  const tooLarge = () =>
    new HttpError(413, 'too-large', `the upload is larger than the limit of ${formatBytes(maxBytes)} (--max-upload-mb); send a smaller photo`, {
      Connection: 'close',
    });
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge();
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
  return Buffer.concat(chunks, size);
}

export interface Upload {
  photo: Uint8Array;
  /** Text fields of a multipart form (empty for a raw body). */
  fields: Record<string, string>;
}

/**
 * The photo of a request: the `photo` field of a multipart form, or else the whole raw body whatever its
 * Content-Type (`curl --data-binary @photo.jpg` sends application/x-www-form-urlencoded). The type is never
 * trusted: the decoder sniffs the bytes.
 */
export async function readUpload(request: Request, maxPhotoBytes: number, options: { requirePhoto?: boolean } = {}): Promise<Upload> {
  const type = request.headers.get('content-type') ?? '';
  const multipart = /^multipart\/form-data/i.test(type);
  const body = await readLimitedBody(request, multipart ? maxPhotoBytes + MULTIPART_OVERHEAD : maxPhotoBytes);
  if (!multipart) {
    if (body.length === 0) throw new HttpError(400, 'empty-upload', 'no photo: the request body is empty. Send the image as the body or as the multipart field "photo".');
    return { photo: body, fields: {} };
  }
  let form: FormData;
  try {
    form = await new Request('http://local/', { method: 'POST', headers: { 'content-type': type }, body }).formData();
  } catch (error) {
    throw new HttpError(400, 'bad-request', `malformed multipart form: ${(error as Error).message}`);
  }
  const fields: Record<string, string> = {};
  let photo: Uint8Array | undefined;
  const photos = form.getAll('photo').filter((value) => typeof value !== 'string').length;
  // One photo per request: answering for the first of several would silently drop the others.
  if (photos > 1) throw new HttpError(400, 'bad-request', `the form has ${photos} files named "photo"; send one photo per request`);
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') fields[name] = value;
    else if (name === 'photo') photo = new Uint8Array(await value.arrayBuffer());
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
