/**
 * libjpeg-turbo compiled to WebAssembly, for the common case of a small baseline JPEG. It decodes a 100×100
 * Fruits-360 image in ~0.25 ms on the calling thread, where one sharp call costs ~0.8 ms of CPU (mostly libvips
 * pipeline set-up and thread hand-off), a tenth of the model's own cost per image. Pixels are identical to
 * sharp's (both are libjpeg-turbo with the same IDCT; checked in decode.test.ts), and anything it rejects —
 * truncated or damaged data included — goes to sharp, which then reports the error.
 *
 * @module
 */

import { createRequire } from 'node:module';

interface JpegDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): { width: number; height: number; componentCount: number; bitsPerSample: number };
}

let decoder: Promise<JpegDecoder> | undefined;

function load(): Promise<JpegDecoder> {
  const require = createRequire(import.meta.url);
  const factory = require('@cornerstonejs/codec-libjpeg-turbo-8bit/wasmjs') as () => Promise<{ JPEGDecoder: new () => JpegDecoder }>;
  return factory().then((codec) => new codec.JPEGDecoder());
}

/** RGB pixels of a 3-component JPEG, or undefined when the fast decoder does not accept the file. */
export async function decodeJpegRgb(bytes: Uint8Array, width: number, height: number): Promise<Buffer | undefined> {
  decoder ??= load();
  const codec = await decoder;
  try {
    codec.getEncodedBuffer(bytes.length).set(bytes);
    codec.decode();
    const info = codec.getFrameInfo();
    if (info.width !== width || info.height !== height || info.componentCount !== 3 || info.bitsPerSample !== 8) return undefined;
    // Copy out: the decoder reuses its WebAssembly memory for the next image.
    return Buffer.from(codec.getDecodedBuffer());
  } catch {
    return undefined;
  }
}
