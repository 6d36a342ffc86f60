/** Image formats the pipeline accepts, recognised by their first bytes (never by file name or header). */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff';

export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  const b = bytes;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (b.length >= 6 && ascii(b, 0, 4) === 'GIF8') return 'gif';
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a) || (b[0] === 0x4d && b[1] === 0x4d && b[3] === 0x2a))) {
    return 'tiff';
  }
  return undefined;
}

/** A short human description of what non-image bytes look like, for error messages. */
export function describeNonImage(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'empty file (0 bytes)';
  const head = bytes.subarray(0, Math.min(bytes.length, 512));
  const printable = head.every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 128);
  // Never echo the bytes: a crafted job can point a worker at any file, and errors/ would then publish its
  // first bytes (/etc/shadow's, say). The size is enough to tell an empty, a tiny and a big file apart.
  if (printable) return `text, not an image (${head.length < 512 ? `${bytes.length} bytes` : 'more than 512 bytes'} of text; not JPEG, PNG, WebP, GIF or TIFF)`;
  return `unknown format, not an image (${bytes.length} bytes; not JPEG, PNG, WebP, GIF or TIFF)`;
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}
