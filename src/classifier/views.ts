/**
 * Query-time views of a photo: the whole frame plus square crops on a grid at a few scales, all rendered at the
 * model's input size and classified in one batched model call. A phone photo of a market crate holds dozens
 * of fruits, each a few percent of the frame, while every reference shows one fruit filling it: a crop that
 * holds one or two fruits is seen at the scale the references show them.
 */
import sharp from 'sharp';
import { ImageDecodeError } from '../images/errors.js';
import { describeNonImage, sniffImageFormat, type ImageFormat } from '../images/format.js';

/** A region of the (EXIF-oriented) photo, in fractions of its width and height: what the page outlines. */
export interface ViewBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One grid of square crops: side = `scale` × the photo's short side, `grid` positions along the short side. */
export interface ViewScale {
  scale: number;
  grid: number;
}

/**
 * The whole photo (stretched, as `extract` does), then 2×2 crops at 0.6 and 3×3 at 0.4 of the short side
 * (more along the long side of an oblong photo). 14 views on a square photo, 16–17 on a 4:3 one: with batch
 * inference at ≈ 3 ms per view on 2 cores this is ≈ 50 ms of model time per photo.
 */
export const DEFAULT_VIEW_SCALES: ViewScale[] = [
  { scale: 0.6, grid: 2 },
  { scale: 0.4, grid: 3 },
];

export interface RgbPixels {
  width: number;
  height: number;
  /** RGB interleaved, 3 bytes a pixel. */
  data: Uint8Array;
}

/** The boxes of every view, the whole photo first. */
export function viewBoxes(width: number, height: number, scales: ViewScale[] = DEFAULT_VIEW_SCALES): ViewBox[] {
  const boxes: ViewBox[] = [{ x: 0, y: 0, width: 1, height: 1 }];
  const short = Math.min(width, height);
  for (const { scale, grid } of scales) {
    const side = scale * short;
    // Positions per axis: `grid` along the short side, proportionally more along the long one.
    const along = (extent: number) => Math.max(1, Math.round((grid * extent) / short));
    const nx = along(width);
    const ny = along(height);
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const x = nx === 1 ? (width - side) / 2 : (i * (width - side)) / (nx - 1);
        const y = ny === 1 ? (height - side) / 2 : (j * (height - side)) / (ny - 1);
        boxes.push({ x: x / width, y: y / height, width: side / width, height: side / height });
      }
    }
  }
  return boxes;
}

/**
 * Decodes a photo once, upright and in sRGB, shrunk so that its short side is at most `workingShortSide`
 * (JPEG shrink-on-load makes a 12-megapixel photo cheap), for cropping views out of it.
 */
export async function decodeForViews(
  bytes: Uint8Array,
  maxPixels: number,
  workingShortSide = 560,
): Promise<RgbPixels & { format: ImageFormat; originalWidth: number; originalHeight: number }> {
  if (bytes.length === 0) throw new ImageDecodeError('empty file (0 bytes)', 'empty');
  const format = sniffImageFormat(bytes);
  if (!format) throw new ImageDecodeError(describeNonImage(bytes), 'not-an-image');
  try {
    const image = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'warning' }).rotate();
    const meta = await image.metadata();
    const swap = (meta.orientation ?? 1) >= 5;
    const w = (swap ? meta.height : meta.width) ?? 0;
    const h = (swap ? meta.width : meta.height) ?? 0;
    if (w * h > maxPixels) throw new ImageDecodeError(`${w}×${h} = ${w * h} pixels exceeds the limit of ${maxPixels} (--max-pixels)`, 'too-many-pixels');
    const short = Math.min(w, h);
    const factor = short > workingShortSide ? workingShortSide / short : 1;
    const { data, info } = await image
      .resize(Math.max(1, Math.round(w * factor)), Math.max(1, Math.round(h * factor)), { fit: 'fill', kernel: 'lanczos3' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { format, width: info.width, height: info.height, data, originalWidth: w, originalHeight: h };
  } catch (error) {
    if (error instanceof ImageDecodeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (/pixel limit/i.test(message))
      throw new ImageDecodeError('the photo has more pixels than the limit (--max-pixels)', 'too-many-pixels', { cause: error });
    throw new ImageDecodeError(`corrupt ${format}: ${message.trim()}`, 'corrupt', { cause: error });
  }
}

/**
 * Renders one view as size×size RGB: an area average where the crop is larger than the output (no aliasing),
 * bilinear where it is smaller.
 */
export function renderView(image: RgbPixels, box: ViewBox, size: number, out: Uint8Array = new Uint8Array(size * size * 3)): Uint8Array {
  const x0 = box.x * image.width;
  const y0 = box.y * image.height;
  const sx = (box.width * image.width) / size;
  const sy = (box.height * image.height) / size;
  const { data, width: W, height: H } = image;
  for (let oy = 0; oy < size; oy++) {
    const top = y0 + oy * sy;
    for (let ox = 0; ox < size; ox++) {
      const left = x0 + ox * sx;
      const o = (oy * size + ox) * 3;
      if (sx > 1 || sy > 1) {
        const ya = Math.max(0, Math.floor(top));
        const yb = Math.min(H, Math.max(ya + 1, Math.floor(top + sy)));
        const xa = Math.max(0, Math.floor(left));
        const xb = Math.min(W, Math.max(xa + 1, Math.floor(left + sx)));
        let r = 0;
        let g = 0;
        let b = 0;
        for (let y = ya; y < yb; y++) {
          let i = (y * W + xa) * 3;
          for (let x = xa; x < xb; x++, i += 3) {
            r += data[i];
            g += data[i + 1];
            b += data[i + 2];
          }
        }
        const n = (yb - ya) * (xb - xa);
        out[o] = r / n;
        out[o + 1] = g / n;
        out[o + 2] = b / n;
      } else {
        const fy = Math.min(Math.max(top + sy / 2 - 0.5, 0), H - 1);
        const fx = Math.min(Math.max(left + sx / 2 - 0.5, 0), W - 1);
        const y1 = Math.floor(fy);
        const x1 = Math.floor(fx);
        const y2 = Math.min(y1 + 1, H - 1);
        const x2 = Math.min(x1 + 1, W - 1);
        const wy = fy - y1;
        const wx = fx - x1;
        for (let c = 0; c < 3; c++) {
          const a = data[(y1 * W + x1) * 3 + c] * (1 - wx) + data[(y1 * W + x2) * 3 + c] * wx;
          const d = data[(y2 * W + x1) * 3 + c] * (1 - wx) + data[(y2 * W + x2) * 3 + c] * wx;
          out[o + c] = a * (1 - wy) + d * wy;
        }
      }
    }
  }
  return out;
}
