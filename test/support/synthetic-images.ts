import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

const PALETTE: [number, number, number][] = [
  [220, 30, 30],
  [40, 180, 60],
  [40, 70, 210],
  [240, 200, 30],
  [150, 60, 170],
];

/**
 * One folder per class of small JPEGs, Fruits-360 style (white background, one coloured blob per image with
 * jittered position and size), deterministic for a given seed. Returns the relative paths written.
 */
export async function writeImageFolder(root: string, options: { classes?: number; perClass?: number; size?: number; seed?: number } = {}): Promise<string[]> {
  const { classes = 3, perClass = 6, size = 100, seed = 1 } = options;
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  const written: string[] = [];
  for (let c = 0; c < classes; c++) {
    const folder = `Class ${String.fromCharCode(65 + c)} 1`;
    mkdirSync(join(root, folder), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const [r, g, b] = PALETTE[c % PALETTE.length];
      const pixels = Buffer.alloc(size * size * 3, 255);
      const cx = size * (0.35 + 0.3 * random());
      const cy = size * (0.35 + 0.3 * random());
      const radius = size * (0.2 + 0.1 * random()) * (1 + (c >= PALETTE.length ? 0.5 : 0));
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const inside = c % 2 === 0 ? (x - cx) ** 2 + (y - cy) ** 2 < radius ** 2 : Math.abs(x - cx) < radius && Math.abs(y - cy) < radius;
          if (!inside) continue;
          const p = (y * size + x) * 3;
          pixels[p] = r;
          pixels[p + 1] = g;
          pixels[p + 2] = b;
        }
      }
      const name = `${folder}/${i}_${size}.jpg`;
      writeFileSync(
        join(root, name),
        await sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
          .jpeg({ quality: 90 })
          .toBuffer(),
      );
      written.push(name);
    }
  }
  return written;
}

/** A valid PNG header and stream that would decode to width×height 1-bit pixels: a decompression bomb. */
export function pngBomb(width = 20000, height = 20000): Buffer {
  const rowBytes = 1 + Math.ceil(width / 8);
  const raw = Buffer.alloc(rowBytes * height); // all zero: filter 0, black pixels
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}
