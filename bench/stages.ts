/**
 * npm run bench:stages — what one image costs on one thread, stage by stage, on real Fruits-360 files: read,
 * decode (decodeImage: the WebAssembly libjpeg-turbo path for these JPEGs), upscale + normalisation into the
 * batch (writeImageInto: the SIMD kernel, and the JS loops it replaced), and the model (batch 16, one
 * onnxruntime thread). The README's "where the gap goes" figures come from here.
 * Options: --input DIR (default $FRUITS_DATA_DIR/fruits-360-test), --model PATH, --images N (default 640).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { decodeImage, type DecodedImage } from '../src/images/decode.js';
import { normalisation, writeImageInto } from '../src/images/normalize.js';
import { resizeBilinearScalarInto } from '../src/images/resize.js';
import { FeatureExtractor } from '../src/model/feature-extractor.js';
import { ensureModel } from '../src/model/provision/index.js';
import { openStorage } from '../src/storage/open-storage.js';
import { benchInput } from './cli.js';

const { values } = parseArgs({ options: { input: { type: 'string' }, model: { type: 'string' }, images: { type: 'string' } } });
const input = benchInput('bench:stages', values.input);
const count = Number(values.images ?? 640);
const modelPath = (await ensureModel({ model: values.model })).path;

// Every n-th file of the sorted listing: all classes, not the first few.
const keys: string[] = [];
for await (const entry of openStorage(input).list()) keys.push(entry.key);
keys.sort();
const paths = Array.from({ length: count }, (_, i) => `${input}/${keys[Math.floor((i * keys.length) / count)]}`);

/** ms per image of `work` over every image, best of two passes (the first also warms up). */
async function perImage(work: (i: number) => unknown): Promise<number> {
  let best = Infinity;
  for (let pass = 0; pass < 2; pass++) {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await work(i);
    best = Math.min(best, (performance.now() - t0) / count);
  }
  return best;
}

const bytes: Buffer[] = [];
const read = await perImage(async (i) => (bytes[i] = await readFile(paths[i])));
const images: DecodedImage[] = [];
const decode = await perImage(async (i) => (images[i] = await decodeImage(bytes[i])));
const norm = normalisation('keras', 'nhwc');
const batch = new Float32Array(16 * 224 * 224 * 3);
const upscale = await perImage((i) => writeImageInto(batch, i % 16, images[i], 224, norm));
const upscaleJs = await perImage((i) => {
  const image = images[i];
  resizeBilinearScalarInto(image.rgb, image.rgbWidth, image.rgbHeight, 224, batch, (i % 16) * 224 * 224 * 3, norm);
});
const extractor = await FeatureExtractor.open(modelPath, { threads: 1 });
const model = await perImage(async (i) => i % 16 === 15 && (await extractor.extract(batch, 16)));
await extractor.close();

console.log(`per image on one thread, ${count} Fruits-360 images from ${input}, ${new Date().toISOString()}`);
console.log('| stage | ms per image |\n| --- | --- |');
for (const [stage, ms] of [
  ['read (fs)', read],
  ['decode (decodeImage)', decode],
  ['upscale + normalise (SIMD kernel)', upscale],
  ['upscale + normalise (JS loops, the fallback)', upscaleJs],
  ['model (batch 16, 1 onnxruntime thread, alone on the machine)', model],
] as const) {
  console.log(`| ${stage} | ${ms.toFixed(3)} |`);
}
