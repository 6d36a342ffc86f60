import sharp, { type OutputInfo } from 'sharp';
import { ImageDecodeError } from './errors.js';
import { describeNonImage, sniffImageFormat, type ImageFormat } from './format.js';
import { headerSize, jpegHeader } from './header-size.js';
import { decodeJpegRgb } from './wasm-jpeg.js';

export interface DecodeOptions {
  size: number;
  /** Decompression-bomb guard: images with more pixels are refused before they are decoded. */
  maxPixels: number;
}

export const DEFAULT_DECODE: DecodeOptions = { size: 224, maxPixels: 50_000_000 };

/** How pixels reach size×size: written into the manifest so a run says what it did. */
export const RESIZE_DESCRIPTION =
  'fill (stretch to square, no crop); upscaling: bilinear with half-pixel centres (src/images/resize.ts); ' +
  'downscaling (either side larger than the target): sharp/libvips lanczos3';

export interface DecodedImage {
  format: ImageFormat;
  /** Size of the file's image after EXIF orientation. */
  width: number;
  height: number;
  /** RGB pixels, row-major, 0–255: either the native image (both sides ≤ size) or already size×size. */
  rgb: Buffer;
  rgbWidth: number;
  rgbHeight: number;
}

// Workers decode several images at once; one libvips thread per decode keeps them from taking the cores
// that inference needs.
sharp.concurrency(1);
sharp.cache(false);

/**
 * Bytes → upright RGB: EXIF orientation applied, alpha dropped, greyscale and CMYK converted to sRGB.
 * Small images come back at native size (the caller upscales while normalising, see resize.ts); larger ones are
 * shrunk to size×size by sharp, which antialiases and can shrink JPEGs while decoding. Small plain JPEGs take
 * the WebAssembly libjpeg-turbo path (wasm-jpeg.ts), which gives the same pixels for a third of the CPU.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = DEFAULT_DECODE): Promise<DecodedImage> {
  if (bytes.length === 0) throw new ImageDecodeError('empty file (0 bytes)', 'empty');
  const format = sniffImageFormat(bytes);
  if (!format) throw new ImageDecodeError(describeNonImage(bytes), 'not-an-image');
  if (format === 'jpeg') {
    const header = jpegHeader(bytes);
    // Without Exif there is no orientation to apply, without ICC no profile to convert; 3 components are YCbCr
    // (or RGB), never CMYK or grey.
    if (header && !header.exif && !header.icc && header.components === 3 && header.width <= options.size && header.height <= options.size) {
      const rgb = await decodeJpegRgb(bytes, header.width, header.height);
      if (rgb) return { format, width: header.width, height: header.height, rgb, rgbWidth: header.width, rgbHeight: header.height };
    }
  }
  try {
    let size = headerSize(bytes, format);
    if (!size) {
      const meta = await sharp(bytes, { limitInputPixels: options.maxPixels }).metadata();
      size = { width: meta.autoOrient?.width ?? meta.width ?? 0, height: meta.autoOrient?.height ?? meta.height ?? 0 };
    }
    if (size.width * size.height > options.maxPixels) {
      throw new ImageDecodeError(
        `${size.width}×${size.height} = ${size.width * size.height} pixels exceeds the limit of ${options.maxPixels} (--max-pixels)`,
        'too-many-pixels',
      );
    }
    const small = size.width <= options.size && size.height <= options.size;
    const result = await pipeline(bytes, options, small, false);
    const { data, info } = info3(result) ? result : await pipeline(bytes, options, small, true);
    // EXIF orientation may swap the header's sides; the decoded native size is the truth for small images.
    const width = small ? info.width : size.width;
    const height = small ? info.height : size.height;
    return { format, width, height, rgb: data, rgbWidth: info.width, rgbHeight: info.height };
  } catch (error) {
    if (error instanceof ImageDecodeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    // Callers prefix the reason ("the image has too many pixels: …"): say the limit here, not "too many pixels" again.
    if (/pixel limit/i.test(message))
      throw new ImageDecodeError(`more than the limit of ${options.maxPixels} pixels (--max-pixels)`, 'too-many-pixels', { cause: error });
    throw new ImageDecodeError(`corrupt ${format}: ${message.trim()}`, 'corrupt', { cause: error });
  }
}

type RawResult = { data: Buffer; info: OutputInfo };

function info3(result: RawResult): boolean {
  return result.info.channels === 3;
}

function pipeline(bytes: Uint8Array, options: DecodeOptions, small: boolean, toSrgb: boolean): Promise<RawResult> {
  // failOn 'warning' makes truncated and damaged files errors instead of half-grey images.
  let image = sharp(bytes, { limitInputPixels: options.maxPixels, failOn: 'warning' }).rotate().removeAlpha();
  // Most files are already 3-channel sRGB; the conversion is only paid by greyscale and CMYK ones.
  if (toSrgb) image = image.toColourspace('srgb');
  if (!small) image = image.resize(options.size, options.size, { fit: 'fill', kernel: 'lanczos3' });
  return image.raw().toBuffer({ resolveWithObject: true });
}
