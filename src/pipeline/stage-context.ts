import { DEFAULT_DECODE, type DecodeOptions } from '../images/decode.js';
import { normalisation } from '../images/normalize.js';
import type { Normalisation } from '../images/resize.js';
import { FeatureExtractor } from '../model/feature-extractor.js';
import { ScatterKernel } from '../pca/matrix-kernels.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import type { RunSpec } from '../dataset/run-spec.js';
import { InputImages } from './input-images.js';

/** What a worker holds for the whole run: storages, one model session, one scatter kernel. */
export interface StageContext {
  spec: RunSpec;
  input: Storage;
  /** The input's images by the paths the run records (augmentation re-reads references): indexes kept per run. */
  inputImages: InputImages;
  output: Storage;
  extractor: FeatureExtractor;
  scatter: ScatterKernel;
  decode: DecodeOptions;
  norm: Normalisation;
}

export interface ContextOptions {
  spec: RunSpec;
  modelPath: string;
  /** onnxruntime threads of this worker's session. */
  threads: number;
}

export async function openStageContext(options: ContextOptions): Promise<StageContext> {
  const { spec } = options;
  const extractor = await FeatureExtractor.open(options.modelPath, { threads: options.threads, expectedSha256: spec.model.sha256 });
  const scatter = await ScatterKernel.create(options.threads);
  const input = openStorage(spec.input);
  return {
    spec,
    input,
    inputImages: new InputImages(input),
    output: openStorage(spec.output),
    extractor,
    scatter,
    decode: { ...DEFAULT_DECODE, size: spec.options.imageSize, maxPixels: spec.options.maxPixels },
    norm: normalisation(extractor.info.preprocessing, extractor.info.layout),
  };
}

export async function closeStageContext(context: StageContext): Promise<void> {
  await context.extractor.close();
  await context.scatter.close();
  await context.inputImages.close();
}
