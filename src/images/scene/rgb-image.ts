/** An 8-bit RGB image, rows top to bottom, 3 interleaved bytes per pixel (the layout sharp's raw output uses). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export function createImage(width: number, height: number): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3) };
}

export function assertRgbImage(img: RgbImage, what: string): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width <= 0 || img.height <= 0) {
    throw new RangeError(`${what}: invalid size ${img.width}×${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(`${what}: ${img.data.length} bytes for ${img.width}×${img.height} RGB (expected ${img.width * img.height * 3})`);
  }
}
