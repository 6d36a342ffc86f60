import { encodeParquet, utf8 } from './parquet.js';

/** Rows of features/part-*.parquet: one per image that went through the model. */
export interface FeatureRows {
  path: string[];
  label: string[];
  width: Int32Array;
  height: Int32Array;
  bytes: BigInt64Array;
  /** rows × dim float32 */
  features: Float32Array;
  dim: number;
}

export function encodeFeatures(rows: FeatureRows, metadata: Record<string, string>): Uint8Array {
  return encodeParquet(
    {
      path: utf8(rows.path),
      label: utf8(rows.label),
      width: { type: 'int32', values: rows.width },
      height: { type: 'int32', values: rows.height },
      bytes: { type: 'int64', values: rows.bytes },
      features: { type: 'vector', values: rows.features, dim: rows.dim },
    },
    metadata,
  );
}

export function encodeResults(path: string[], label: string[], pca: Float32Array, k: number): Uint8Array {
  return encodeParquet({ path: utf8(path), label: utf8(label), pca: { type: 'vector', values: pca, dim: k } });
}

/** One input that did not make it into features/, and why. The run goes on without it. */
export interface ErrorRecord {
  path: string;
  stage: 'read' | 'decode' | 'inference';
  message: string;
}

export function encodeErrors(errors: ErrorRecord[]): Uint8Array {
  return encodeParquet({
    path: utf8(errors.map((e) => e.path)),
    stage: utf8(errors.map((e) => e.stage)),
    message: utf8(errors.map((e) => e.message)),
  });
}

/** Rows of augmented/part-*.parquet: one per scene made from a reference image (see pipeline/augment.ts). */
export interface AugmentedRows {
  /** The reference image the scene was made from (its path in the run's input). */
  source: string[];
  label: string[];
  /** The scene's augmentation parameters as JSON (background, copies, tone, blur, noise, JPEG quality…). */
  params: string[];
  features: Float32Array;
  dim: number;
}

export function encodeAugmented(rows: AugmentedRows, metadata: Record<string, string>): Uint8Array {
  return encodeParquet(
    {
      source: utf8(rows.source),
      label: utf8(rows.label),
      params: utf8(rows.params),
      features: { type: 'vector', values: rows.features, dim: rows.dim },
    },
    metadata,
  );
}
