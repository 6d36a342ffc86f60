import type { ImageFormat } from './format.js';

/**
 * Width and height read from the file header without decoding, for the formats where that is a few bytes
 * away. Lets the decoder pick its path (native pixels vs. sharp downscale) without a second libvips call.
 * Returns undefined when unsure; the caller then asks sharp.
 */
export function headerSize(bytes: Uint8Array, format: ImageFormat): { width: number; height: number } | undefined {
  if (format === 'png' && bytes.length >= 24) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (format === 'gif' && bytes.length >= 10) {
    return { width: bytes[6] | (bytes[7] << 8), height: bytes[8] | (bytes[9] << 8) };
  }
  if (format === 'jpeg') return jpegHeader(bytes);
  return undefined;
}

/**
 * Frame size, colour components, and whether Exif (which may hold an orientation) or an ICC profile (which
 * sharp converts to sRGB) is present.
 */
export interface JpegHeader {
  width: number;
  height: number;
  components: number;
  exif: boolean;
  icc: boolean;
}

export function jpegHeader(b: Uint8Array): JpegHeader | undefined {
  let exif = false;
  let icc = false;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    const length = (b[i + 2] << 8) | b[i + 3];
    const tag = String.fromCharCode(...b.subarray(i + 4, i + 15));
    if (marker === 0xe1 && tag.startsWith('Exif')) exif = true;
    if (marker === 0xe2 && tag === 'ICC_PROFILE') icc = true;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: (b[i + 5] << 8) | b[i + 6], width: (b[i + 7] << 8) | b[i + 8], components: b[i + 9], exif, icc };
    }
    i += 2 + length;
  }
  return undefined;
}
