/**
 * The official Keras MobileNetV2 1.0/224 ImageNet weight files — what `MobileNetV2(weights='imagenet')` downloads
 * (keras/src/applications/mobilenet_v2.py: BASE_WEIGHT_PATH + file name, fetched with `get_file(...)` WITHOUT a
 * file_hash, so Keras itself pins nothing).
 *
 * Pinned here:
 * - sizes: as printed by Keras' own download progress line in many public notebooks and logs
 *   ("9406464/9406464" for the no_top file, "14536120/14536120" for the full file);
 * - sha256 of the no_top file: f8aff695…797c, recorded independently by three public repositories that pinned
 *   the file they used (one names it `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5` and says it
 *   is the same file as the JonathanCMitchell/mobilenet_v2_keras v1.1 release, the origin of Keras' copy);
 * - sha256 of the full file: NOT known (no public record found, and no copy could be fetched here). It stays
 *   `undefined`, and a model built from it is trusted only after its golden checks pass (see verify.ts); the
 *   sidecar records `pinnedSha256: null` and the sha256 actually received.
 *
 * @module
 */

export interface PublishedWeightsFile {
  file: string;
  bytes: number;
  sha256?: string;
  includesClassifier: boolean;
}

export const KERAS_WEIGHTS_NO_TOP: PublishedWeightsFile = {
  file: 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5',
  bytes: 9_406_464,
  sha256: 'f8aff69536bd77a692c594f559c798c19bf7f3f36668fc9fa00b21c6aab4797c',
  includesClassifier: false,
};

export const KERAS_WEIGHTS_FULL: PublishedWeightsFile = {
  file: 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5',
  bytes: 14_536_120,
  sha256: undefined,
  includesClassifier: true,
};

export const DEFAULT_WEIGHTS_BASE_URL = 'https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/';

/** FRUITS_WEIGHTS_BASE_URL overrides the server (a mirror, or a local server in tests). */
export function weightsBaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.FRUITS_WEIGHTS_BASE_URL || DEFAULT_WEIGHTS_BASE_URL;
  return base.endsWith('/') ? base : `${base}/`;
}

export function weightsUrl(weights: PublishedWeightsFile, env: NodeJS.ProcessEnv = process.env): string {
  return new URL(weights.file, weightsBaseUrl(env)).toString();
}
