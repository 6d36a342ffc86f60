import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { pngBomb } from '../../test/support/synthetic-images.js';
import { decodeImage, DEFAULT_DECODE } from './decode.js';
import { ImageDecodeError } from './errors.js';
import { normalisation, writeImageInto } from './normalize.js';

const solid = (channels: 3 | 4, width = 100, height = 100) => sharp({ create: { width, height, channels, background: { r: 200, g: 100, b: 50, alpha: 0.5 } } });

test('a small JPEG comes back at native size as 3-channel RGB', async () => {
  const image = await decodeImage(await solid(3).jpeg().toBuffer());
  assert.equal(image.format, 'jpeg');
  assert.deepEqual([image.width, image.height, image.rgbWidth, image.rgbHeight], [100, 100, 100, 100]);
  assert.equal(image.rgb.length, 100 * 100 * 3);
  assert.ok(Math.abs(image.rgb[0] - 200) < 4 && Math.abs(image.rgb[1] - 100) < 4 && Math.abs(image.rgb[2] - 50) < 4);
});

test('a large image is shrunk to the target square by sharp', async () => {
  const image = await decodeImage(await solid(3, 1000, 500).png().toBuffer());
  assert.deepEqual([image.width, image.height, image.rgbWidth, image.rgbHeight], [1000, 500, 224, 224]);
});

test('alpha is dropped, greyscale and CMYK become RGB', async () => {
  const rgba = await decodeImage(await solid(4).png().toBuffer());
  assert.equal(rgba.rgb.length, 100 * 100 * 3);
  const grey = await decodeImage(await solid(3).greyscale().jpeg().toBuffer());
  assert.equal(grey.rgb.length, 100 * 100 * 3);
  assert.equal(grey.rgb[0], grey.rgb[1]);
  const cmyk = await decodeImage(await solid(3).toColourspace('cmyk').jpeg().toBuffer());
  assert.equal(cmyk.rgb.length, 100 * 100 * 3);
  assert.ok(Math.abs(cmyk.rgb[0] - 200) < 20, `CMYK red channel ${cmyk.rgb[0]}`);
});

test('EXIF orientation is applied: a portrait photo stored landscape comes back portrait', async () => {
  // 120×80 stored, orientation 6 (rotate 90° clockwise to display) → 80×120 upright.
  const bytes = await solid(3, 120, 80).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const image = await decodeImage(bytes);
  assert.deepEqual([image.width, image.height], [80, 120]);
});

test('bad inputs are ImageDecodeErrors with a reason, never crashes', async () => {
  const cases: [string, Buffer, string][] = [
    ['empty', Buffer.alloc(0), 'empty'],
    ['text', Buffer.from('hello, I am not a picture\n'), 'not-an-image'],
    ['corrupt jpeg', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(300, 0x41)]), 'corrupt'],
    ['truncated png', (await solid(3).png().toBuffer()).subarray(0, 60), 'corrupt'],
    ['bomb', pngBomb(), 'too-many-pixels'],
  ];
  for (const [name, bytes, reason] of cases) {
    await assert.rejects(decodeImage(bytes), (error: unknown) => {
      assert.ok(error instanceof ImageDecodeError, `${name}: ${String(error)}`);
      assert.equal(error.reason, reason, `${name}: ${error.message}`);
      return true;
    });
  }
});

test('normalisation writes Keras x/127.5 - 1 into the batch slot', async () => {
  const image = await decodeImage(await solid(3, 224, 224).png().toBuffer());
  const batch = new Float32Array(2 * 224 * 224 * 3);
  writeImageInto(batch, 1, image, 224, normalisation('keras', 'nhwc'));
  const base = 224 * 224 * 3;
  assert.equal(batch[0], 0);
  assert.ok(Math.abs(batch[base] - (image.rgb[0] / 127.5 - 1)) < 1e-6);
  assert.ok(batch.subarray(base).every((v) => v >= -1 && v <= 1));
});

test('the WebAssembly JPEG path gives the same pixels as sharp, and damaged JPEGs still fail', async () => {
  const { decodeJpegRgb } = await import('./wasm-jpeg.js');
  const pixels = Buffer.alloc(100 * 100 * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7919) % 251;
  const jpeg = await sharp(pixels, { raw: { width: 100, height: 100, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
  const fast = await decodeJpegRgb(jpeg, 100, 100);
  const reference = await sharp(jpeg).raw().toBuffer();
  assert.ok(fast && Buffer.compare(fast, reference) === 0, 'pixel-identical to sharp');
  assert.equal(await decodeJpegRgb(jpeg.subarray(0, jpeg.length - 200), 100, 100), undefined);
  const flipped = Buffer.from(jpeg);
  for (let i = 700; i < 800; i += 7) flipped[i] ^= 0x55;
  await assert.rejects(decodeImage(flipped), ImageDecodeError);
  await assert.rejects(decodeImage(jpeg.subarray(0, jpeg.length - 200)), ImageDecodeError);
});

test('a TIFF over the pixel limit (sharp finds it, not our header reader) says the limit once, not "too many pixels: too many pixels"', async () => {
  const tiff = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#888888' } })
    .tiff()
    .toBuffer();
  await assert.rejects(decodeImage(tiff, { ...DEFAULT_DECODE, maxPixels: 1000 }), (e: Error) => {
    assert.ok(e instanceof ImageDecodeError && e.reason === 'too-many-pixels', e.message);
    assert.equal(e.message, 'more than the limit of 1000 pixels (--max-pixels)');
    return true;
  });
});

test('a file that is not an image is refused without its content in the message (errors/ must not publish it)', async () => {
  const secret = 'root:$6$saltsalt$hashhashhash:19000:0:99999:7:::\n';
  const text = await decodeImage(Buffer.from(secret)).catch((e: Error) => e);
  assert.ok(text instanceof Error);
  assert.match(text.message, /text, not an image/);
  assert.doesNotMatch(text.message, /root|salt|hash/);
  const binary = await decodeImage(Buffer.from([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5])).catch((e: Error) => e);
  assert.ok(binary instanceof Error);
  assert.doesNotMatch(binary.message, /deadbeef/);
});
