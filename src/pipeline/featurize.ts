import { layout } from '../dataset/layout.js';
import type { FeaturizeResult, ShardTimings } from '../dataset/featurize-marker.js';
import { recordOf } from '../dataset/part-record.js';
import { encodeErrors, encodeFeatures, type ErrorRecord } from '../dataset/schemas.js';
import { decodeImage, type DecodedImage } from '../images/decode.js';
import { writeImageInto } from '../images/normalize.js';
import type { Shard } from '../dataset/plan.js';
import { ShardInputError, ShardStoppedError } from './errors.js';
import { openShardReader } from './shard-input.js';
import type { StageContext } from './stage-context.js';
import { writeMarker } from '../dataset/run-files.js';

type Prepared = { ok: true; index: number; image: DecodedImage; bytes: number } | { ok: false; error: ErrorRecord };

/**
 * Shard → features part, errors part, moments file, then the "featurized" marker last. Decoding of the next
 * batch runs on libuv threads while this thread waits for the model on the current one.
 */
export async function featurizeShard(
  context: StageContext,
  shard: Shard,
  onProgress: (images: number, errors: number) => void = () => {},
  shouldStop: () => boolean = () => false,
): Promise<FeaturizeResult> {
  const { extractor, input, output } = context;
  const { featureDim: dim, inputSize: size } = extractor.info;
  const batchSize = context.spec.options.batchSize;
  const timings: ShardTimings = { decode: 0, inputWait: 0, inference: 0, moments: 0, write: 0 };
  const features = new Float32Array(shard.keys.length * dim);
  const ok: { index: number; image: DecodedImage; bytes: number }[] = [];
  const errors: ErrorRecord[] = [];
  const batch = new Float32Array(batchSize * size * size * 3);

  // Where the bytes come from (files, tar members, Parquet rows) is the reader's business; a batch is read at once
  // so a tar batch is one ranged read and a Parquet batch one row group.
  const reader = openShardReader(input, shard);
  const prepare = async (index: number, bytes: Buffer | Error): Promise<Prepared> => {
    const path = shard.keys[index];
    if (bytes instanceof Error) return { ok: false, error: { path, stage: 'read', message: readMessage(bytes) } };
    try {
      const image = await decodeImage(bytes, context.decode);
      return { ok: true, index, image, bytes: bytes.length };
    } catch (error) {
      return { ok: false, error: { path, stage: 'decode', message: (error as Error).message } };
    }
  };
  // `decode` is the wall time during which at least one batch was being read and decoded: the batches read ahead
  // overlap each other, and a sum of their times counted the overlap twice (more than the shard's own wall time).
  let preparing = 0;
  let preparingSince = 0;
  const prepareBatch = async (start: number) => {
    if (preparing++ === 0) preparingSince = performance.now();
    try {
      const end = Math.min(start + batchSize, shard.keys.length);
      const bytes = await reader.read(start, end);
      return await Promise.all(bytes.map((b, i) => prepare(start + i, b)));
    } finally {
      if (--preparing === 0) timings.decode += performance.now() - preparingSince;
    }
  };

  // Two batches in flight ahead of the model: decode latency varies per image, and one batch of lead time
  // left the thread waiting for input ~10% of the time on the full Fruits-360 run.
  const ahead: Promise<Prepared[]>[] = [];
  const lookahead = 2;
  try {
    for (let i = 0; i < lookahead && i * batchSize < shard.keys.length; i++) ahead.push(prepareBatch(i * batchSize));
    for (let start = 0; start < shard.keys.length; start += batchSize) {
      // Checked between batches, never inside the model: a thread torn down while onnxruntime runs aborts the
      // whole process (Napi::Error thrown past the binding). Nothing of the shard is written yet: it stays to do.
      if (shouldStop()) {
        await Promise.allSettled(ahead);
        throw new ShardStoppedError(`shard ${shard.index} stopped before it was complete`);
      }
      const waitStart = performance.now();
      const prepared = await ahead.shift()!;
      timings.inputWait += performance.now() - waitStart;
      const upcoming = start + lookahead * batchSize;
      if (upcoming < shard.keys.length) ahead.push(prepareBatch(upcoming));
      const good = prepared.filter((p): p is Extract<Prepared, { ok: true }> => p.ok);
      for (const p of prepared) if (!p.ok) errors.push(p.error);
      if (good.length > 0) {
        const t0 = performance.now();
        good.forEach((p, slot) => writeImageInto(batch, slot, p.image, size, context.norm));
        try {
          const out = await extractor.extract(batch, good.length);
          features.set(out, ok.length * dim);
          ok.push(...good);
        } catch (error) {
          // A batch the model rejects is recorded image by image, never dropped silently.
          for (const p of good) errors.push({ path: shard.keys[p.index], stage: 'inference', message: (error as Error).message });
        }
        timings.inference += performance.now() - t0;
      }
      onProgress(prepared.length, prepared.length - good.length);
    }
  } finally {
    // A Parquet reader holds a row group (and its file handle in WebAssembly memory) until closed.
    await Promise.allSettled(ahead);
    await reader.close();
  }

  const rows = ok.length;
  const t0 = performance.now();
  const moments = await context.scatter.moments(features.subarray(0, rows * dim), rows, dim);
  timings.moments = performance.now() - t0;

  const t1 = performance.now();
  const part = encodeFeatures(
    {
      path: ok.map((p) => shard.keys[p.index]),
      label: ok.map((p) => shard.labels[p.index]),
      width: Int32Array.from(ok, (p) => p.image.width),
      height: Int32Array.from(ok, (p) => p.image.height),
      bytes: BigInt64Array.from(ok, (p) => BigInt(p.bytes)),
      features: features.subarray(0, rows * dim),
      dim,
    },
    { run_id: context.spec.runId, model_sha256: extractor.info.sha256, shard: String(shard.index) },
  );
  const errorsPart = errors.length > 0 ? encodeErrors(errors) : undefined;
  if (errorsPart) await output.write(layout.errors(shard.index), errorsPart);
  else await output.delete(layout.errors(shard.index));
  const momentsFile = moments.serialize();
  await output.write(layout.moments(shard.index), momentsFile);
  await output.write(layout.features(shard.index), part);
  timings.write = performance.now() - t1;
  const parts = {
    features: recordOf(part, rows),
    ...(errorsPart ? { errors: recordOf(errorsPart, errors.length) } : {}),
    moments: { bytes: momentsFile.length },
  };
  const result: FeaturizeResult = { shard: shard.index, images: rows, errors: errors.length, timings, parts };
  await writeMarker(output, result);
  return result;
}

function readMessage(error: unknown): string {
  if (error instanceof ShardInputError) return error.message;
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'EACCES' || e.code === 'EPERM') return `permission denied: ${e.message}`;
  // Node lists names as UTF-8 strings: a name that is not valid UTF-8 comes back with U+FFFD in it and cannot be
  // opened by that string. Say so rather than "disappeared".
  if (e.code === 'ENOENT' && (e.path ?? e.message).includes('\uFFFD')) {
    return 'the file name is not valid UTF-8 (shown with \uFFFD), so it cannot be opened: rename the file';
  }
  if (e.code === 'ENOENT') return `file disappeared after listing: ${e.message}`;
  return e.message ?? String(error);
}
