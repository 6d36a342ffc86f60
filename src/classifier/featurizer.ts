import type { Manifest } from '../dataset/manifest.js';
import { decodeImage, DEFAULT_DECODE, type DecodedImage, type DecodeOptions } from '../images/decode.js';
import { normalisation, writeImageInto } from '../images/normalize.js';
import type { Normalisation } from '../images/resize.js';
import { FeatureExtractor } from '../model/feature-extractor.js';
import { sha256File } from '../model/sha256.js';
import { ProjectionKernel } from '../pca/matrix-kernels.js';
import type { PcaModel } from '../pca/pca-model.js';
import { RunModelMismatchError } from './errors.js';

export interface FeaturizerOptions {
  manifest: Manifest;
  pca: PcaModel;
  modelPath: string;
  /** onnxruntime threads of the model session (and of the projection). */
  threads?: number;
  /** Decompression-bomb guard for uploads; defaults to the run's own --max-pixels. */
  maxPixels?: number;
}

/**
 * Photo bytes → the same 1280-d features and PCA vector `fruits extract` would have written for that file:
 * the same decoder (format sniffing, EXIF orientation, sRGB, pixel limit), the same resize and normalisation,
 * the same model file (sha256 checked against the run's manifest) and the run's own PCA basis.
 */
export class PhotoFeaturizer {
  readonly decodeOptions: DecodeOptions;
  private batch = new Float32Array(0);

  private constructor(
    private readonly extractor: FeatureExtractor,
    private readonly projection: ProjectionKernel,
    private readonly norm: Normalisation,
    readonly manifest: Manifest,
    maxPixels: number,
  ) {
    this.decodeOptions = { ...DEFAULT_DECODE, size: manifest.options.imageSize, maxPixels };
  }

  static async open(options: FeaturizerOptions): Promise<PhotoFeaturizer> {
    const { manifest, pca, modelPath } = options;
    const threads = options.threads ?? 1;
    const sha256 = await sha256File(modelPath);
    if (sha256 !== manifest.model.sha256) {
      throw new RunModelMismatchError(
        `model ${modelPath} (sha256 ${sha256.slice(0, 16)}…) is not the model run ${manifest.runId} was extracted with ` +
          `(${manifest.model.file}, sha256 ${manifest.model.sha256.slice(0, 16)}…): its features would not be comparable with the ` +
          `run's vectors and every answer would be wrong. Pass that file with --model (or FRUITS_MODEL / FRUITS_MODEL_DIR).`,
      );
    }
    const preprocessing = manifest.model.preprocessing === 'imagenet' ? 'imagenet' : 'keras';
    const extractor = await FeatureExtractor.open(modelPath, { threads, expectedSha256: manifest.model.sha256, preprocessing });
    if (extractor.info.layout !== manifest.model.layout || extractor.info.featureDim !== pca.dim) {
      await extractor.close();
      throw new RunModelMismatchError(
        `model ${modelPath} has layout ${extractor.info.layout} and ${extractor.info.featureDim}-d features; run ${manifest.runId} ` +
          `expects ${manifest.model.layout} and ${pca.dim}-d`,
      );
    }
    const projection = await ProjectionKernel.create(pca.mean, pca.components, pca.k, threads);
    const norm = normalisation(extractor.info.preprocessing, extractor.info.layout);
    return new PhotoFeaturizer(extractor, projection, norm, manifest, options.maxPixels ?? manifest.options.maxPixels);
  }

  /** Side of the model's square input. */
  get inputSize(): number {
    return this.extractor.info.inputSize;
  }

  get featureDim(): number {
    return this.extractor.info.featureDim;
  }

  get pcaDim(): number {
    return this.projection.k;
  }

  /** Bytes → upright RGB; throws ImageDecodeError (with a reason) for anything that is not a usable image. */
  decode(bytes: Uint8Array): Promise<DecodedImage> {
    return decodeImage(bytes, this.decodeOptions);
  }

  /** Decoded images → features (n × 1280) and PCA vectors (n × k), in one model call. */
  async featurize(images: DecodedImage[]): Promise<{ features: Float32Array; pca: Float32Array }> {
    const size = this.extractor.info.inputSize;
    const n = images.length;
    if (this.batch.length < n * size * size * 3) this.batch = new Float32Array(n * size * size * 3);
    images.forEach((image, i) => writeImageInto(this.batch, i, image, size, this.norm));
    const features = Float32Array.from(await this.extractor.extract(this.batch, n));
    const pca = Float32Array.from(await this.projection.project(features, n));
    return { features, pca };
  }

  async close(): Promise<void> {
    await this.extractor.close();
    await this.projection.close();
  }
}
