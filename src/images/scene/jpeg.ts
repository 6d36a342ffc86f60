import sharp from 'sharp';
import { decodeJpegRgb } from '../wasm-jpeg.js';
import { assertRgbImage, type RgbImage } from './rgb-image.js';

/** Encodes at `quality` and decodes again: the blocking and chroma smearing of a phone's JPEG. */
export async function jpegRoundTrip(img: RgbImage, quality: number): Promise<RgbImage> {
  assertRgbImage(img, 'jpegRoundTrip');
  if (!(quality >= 1 && quality <= 100)) throw new RangeError(`jpeg quality must be in 1–100, got ${quality}`);
  const raw = { width: img.width, height: img.height, channels: 3 as const };
  const jpeg = await sharp(img.data, { raw })
    .jpeg({ quality: Math.round(quality), chromaSubsampling: '4:2:0' })
    .toBuffer();
  // The WebAssembly libjpeg-turbo decoder (the one extract uses for small JPEGs) costs a fraction of a sharp call.
  const fast = await decodeJpegRgb(jpeg, img.width, img.height);
  if (fast) return { width: img.width, height: img.height, data: new Uint8Array(fast.buffer, fast.byteOffset, fast.length) };
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/**
 * A background photo (file bytes or path) decoded upright to RGB, shrunk so its longer side is at most `maxSide`:
 * crops of it are then resampled to 224×224, and a 12-megapixel photo kept whole would cost 36 MB per photo.
 */
export async function decodePhoto(input: Uint8Array | string, maxSide = 640): Promise<RgbImage> {
  const { data, info } = await sharp(input, { failOn: 'error' })
    .rotate()
    .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** PNG bytes of an image (contact sheets, example scenes for a person to look at). */
export function encodePng(img: RgbImage): Promise<Buffer> {
  assertRgbImage(img, 'encodePng');
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toBuffer();
}
