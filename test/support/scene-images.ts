import { createImage, type RgbImage } from '../../src/images/scene/rgb-image.js';

/** Test fixtures: a Fruits-360-like reference, a coloured disc on white (optionally with a white highlight). */
export function discOnWhite(colour: [number, number, number], options: { size?: number; radius?: number; highlight?: number; noise?: number } = {}): RgbImage {
  const size = options.size ?? 100;
  const radius = options.radius ?? 32;
  const img = createImage(size, size);
  let s = 12345;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 3;
      const d = Math.hypot(x + 0.5 - size / 2, y + 0.5 - size / 2);
      // Antialiased edge: a 1-pixel blend with the white, like the references' JPEG edges.
      const a = Math.min(1, Math.max(0, radius - d + 0.5));
      const inHighlight = options.highlight !== undefined && Math.hypot(x + 0.5 - size * 0.42, y + 0.5 - size * 0.42) < options.highlight;
      for (let c = 0; c < 3; c++) {
        const fruit = inHighlight ? 255 : colour[c];
        let v = 255 * (1 - a) + fruit * a;
        if (options.noise) {
          s = (s * 1103515245 + 12345) >>> 0;
          v -= (s >>> 16) % (options.noise + 1);
        }
        img.data[o + c] = Math.round(Math.min(255, Math.max(0, v)));
      }
    }
  }
  return img;
}

export function uniform(size: number, colour: [number, number, number]): RgbImage {
  const img = createImage(size, size);
  for (let p = 0; p < size * size; p++) img.data.set(colour, p * 3);
  return img;
}
