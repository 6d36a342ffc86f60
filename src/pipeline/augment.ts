/**
 * The augmentation stage of `fruits train`: every reference image of a features part becomes `perImage`
 * realistic scenes (the fruit cut out of its white background and pasted on a surface, in piles, lit, blurred,
 * JPEG-compressed: see images/scene/), featurized by the same model as the references. Scenes are a pure
 * function of (seed, source path, scene number), so a retried shard writes the same part.
 */
import { createHash } from 'node:crypto';
import { layout } from '../dataset/layout.js';
import { decodeParquet, readStringColumn } from '../dataset/parquet.js';
import { encodeAugmented } from '../dataset/schemas.js';
import { decodeImage } from '../images/decode.js';
import { writeImageInto } from '../images/normalize.js';
import { createRng, encodePng, jpegRoundTrip, randomScene, seedFor, type BackgroundPhoto, type RgbImage } from '../images/scene/index.js';
import { AugmentStoppedError } from './errors.js';
import type { StageContext } from './stage-context.js';

export interface AugmentSpec {
  /** Scenes made from each reference image. */
  perImage: number;
  seed: number;
  /** Share of scenes drawn on a background photo when photos are given. */
  photoShare: number;
  /** Names of the background photos in use (recorded; the pixels are passed separately). */
  backgrounds: string[];
}

export interface AugmentResult {
  shard: number;
  scenes: number;
  errors: number;
  timings: { read: number; compose: number; jpeg: number; inference: number; write: number };
}

/** Scenes of shard 0 written as JPEG under augmented/examples/ for a person to look at. */
const EXAMPLES = 24;

/** Bumped when the scene generator changes what it draws (2: crate layout), so older parts are redone. */
const SCENE_GENERATOR_VERSION = 2;

/** The hash an augmented part records: a part made with other settings is redone, never mixed in. */
export function augmentKey(spec: AugmentSpec): string {
  return createHash('sha256')
    .update(JSON.stringify({ v: SCENE_GENERATOR_VERSION, ...spec }))
    .digest('hex')
    .slice(0, 16);
}

/** The references of one features part: its paths and labels, in the part's row order. */
export async function referenceShard(context: StageContext, shard: number): Promise<{ paths: string[]; labels: string[] }> {
  const table = decodeParquet(await context.output.read(layout.features(shard)), ['path', 'label']);
  return { paths: readStringColumn(table, 'path'), labels: readStringColumn(table, 'label') };
}

/**
 * One features part → augmented part. Piles and groups use other references of the same class from the same
 * part (parts hold sorted paths, so a class's frames are neighbours). A reference that cannot be read again is
 * skipped and counted; the model sees batches of the run's batch size.
 */
export async function augmentShard(
  context: StageContext,
  shard: number,
  spec: AugmentSpec,
  photos: readonly BackgroundPhoto[],
  onProgress: (scenes: number) => void = () => {},
  shouldStop: () => boolean = () => false,
): Promise<AugmentResult> {
  const timings = { read: 0, compose: 0, jpeg: 0, inference: 0, write: 0 };
  const { extractor, output } = context;
  const { featureDim: dim, inputSize: size } = extractor.info;
  const t0 = performance.now();
  const { paths, labels } = await referenceShard(context, shard);
  // By the path the features part recorded: a file, a tar member or a table row (context.inputImages keeps the
  // tar and table indexes for the run; the table readers' row groups are let go after each shard).
  const references = context.inputImages;
  const images: (RgbImage | undefined)[] = await Promise.all(
    paths.map(async (path) => {
      try {
        const decoded = await decodeImage(await references.read(path), context.decode);
        return { width: decoded.rgbWidth, height: decoded.rgbHeight, data: decoded.rgb };
      } catch {
        return undefined;
      }
    }),
  ).finally(() => references.close());
  timings.read = performance.now() - t0;
  const byClass = new Map<string, RgbImage[]>();
  images.forEach((image, i) => {
    if (!image) return;
    const list = byClass.get(labels[i]) ?? [];
    list.push(image);
    byClass.set(labels[i], list);
  });

  // Every scene to make, in a fixed order: (reference, scene number).
  const jobs: { i: number; k: number }[] = [];
  for (let i = 0; i < paths.length; i++) if (images[i]) for (let k = 0; k < spec.perImage; k++) jobs.push({ i, k });
  const features = new Float32Array(jobs.length * dim);
  const source: string[] = [];
  const label: string[] = [];
  const params: string[] = [];
  const batchSize = context.spec.options.batchSize;
  // Two input buffers: the next batch is composed and JPEG-compressed while the model runs the current one
  // (onnxruntime runs off the JS thread), which kept the thread busy instead of alternating idle halves.
  const buffers = [new Float32Array(batchSize * size * size * 3), new Float32Array(batchSize * size * size * 3)];
  let running: Promise<void> = Promise.resolve();
  let examples = 0;
  for (let start = 0, b = 0; start < jobs.length; start += batchSize, b++) {
    if (shouldStop()) {
      await running.catch(() => {});
      throw new AugmentStoppedError(`augmentation of shard ${shard} stopped before it was complete`);
    }
    const slice = jobs.slice(start, start + batchSize);
    let t = performance.now();
    const scenes = slice.map(({ i, k }) => {
      const rng = createRng(seedFor(spec.seed, paths[i], k));
      const same = byClass.get(labels[i])!;
      // The scene's own reference first; companions for piles are other frames of the class.
      const companions = [images[i]!, ...Array.from({ length: Math.min(5, same.length - 1) }, () => same[rng.int(0, same.length - 1)])];
      return randomScene(companions, rng, { photos, photoShare: spec.photoShare, size });
    });
    timings.compose += performance.now() - t;
    t = performance.now();
    const jpegs = await Promise.all(scenes.map((scene) => jpegRoundTrip(scene.image, scene.jpegQuality)));
    timings.jpeg += performance.now() - t;
    if (shard === 0) {
      for (const jpeg of jpegs) {
        if (examples >= EXAMPLES) break;
        await output.write(layout.augmentedExample(`scene-${String(examples).padStart(2, '0')}.png`), await encodePng(jpeg));
        examples++;
      }
    }
    await running;
    const batch = buffers[b % 2];
    jpegs.forEach((jpeg, slot) =>
      writeImageInto(
        batch,
        slot,
        {
          format: 'jpeg',
          width: size,
          height: size,
          rgb: Buffer.from(jpeg.data.buffer, jpeg.data.byteOffset, jpeg.data.length),
          rgbWidth: size,
          rgbHeight: size,
        },
        size,
        context.norm,
      ),
    );
    slice.forEach(({ i }, n) => {
      source.push(paths[i]);
      label.push(labels[i]);
      params.push(JSON.stringify(scenes[n].params));
    });
    const at = start * dim;
    const count = slice.length;
    running = (async () => {
      const t0 = performance.now();
      features.set(await extractor.extract(batch, count), at);
      timings.inference += performance.now() - t0;
      onProgress(count);
    })();
  }
  await running;
  const t1 = performance.now();
  await output.write(
    layout.augmented(shard),
    encodeAugmented(
      { source, label, params, features: features.subarray(0, source.length * dim), dim },
      { run_id: context.spec.runId, model_sha256: extractor.info.sha256, shard: String(shard), augment_key: augmentKey(spec) },
    ),
  );
  timings.write = performance.now() - t1;
  return { shard, scenes: source.length, errors: paths.length - images.filter(Boolean).length, timings };
}
