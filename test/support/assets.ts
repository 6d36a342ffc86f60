import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Real-asset tests run when FRUITS_MODEL_DIR / FRUITS_DATA_DIR point at the shared assets.
 * On CI (CI=true) a missing variable is a failure, never a silent skip: `.ci/run` sets both.
 */
export interface RealAssets {
  modelDir: string;
  dataDir: string;
}

export function realAssets(): RealAssets | undefined {
  const modelDir = process.env.FRUITS_MODEL_DIR;
  const dataDir = process.env.FRUITS_DATA_DIR;
  // The README's command sets them relative (../shared/…) to the repository root, where npm runs the tests;
  // absolute paths stay right in children a test runs from another folder.
  if (modelDir && dataDir && existsSync(modelDir) && existsSync(dataDir)) return { modelDir: resolve(modelDir), dataDir: resolve(dataDir) };
  if (process.env.CI) {
    throw new Error(
      `real-asset tests need FRUITS_MODEL_DIR and FRUITS_DATA_DIR pointing at existing folders on CI ` +
        `(got ${modelDir ?? 'unset'} and ${dataDir ?? 'unset'}); the README's test command sets them to ../shared/models and ../shared/data`,
    );
  }
  return undefined;
}

/** Options for node:test: `test(name, realTestOptions(), fn)` skips with a reason off CI when assets are absent. */
export function realTestOptions(): { skip: string | false } {
  return realAssets() ? { skip: false } : { skip: 'FRUITS_MODEL_DIR / FRUITS_DATA_DIR not set (real-asset test)' };
}

export function realModelPath(file = 'mobilenet_v2_1.0_224_keras_features_nhwc.onnx'): string {
  const assets = realAssets();
  if (!assets) throw new Error('real assets not available');
  return join(assets.modelDir, file);
}
