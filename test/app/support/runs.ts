import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, REPO_ROOT } from '../../support/cli.js';
import { realAssets } from '../../support/assets.js';
import { writeImageFolder } from '../../support/synthetic-images.js';
import { writeTinyModel } from '../../support/tiny-model.js';

export interface SyntheticRun {
  dir: string;
  run: string;
  model: string;
  images: string;
  classes: string[];
}

/**
 * A finished run of the tiny model over synthetic coloured-blob classes (Fruits-360 style), made with the real
 * `fruits extract` command: 4 classes × 8 images, PCA k = 8.
 */
export async function syntheticRun(prefix = 'fruits-app-'): Promise<SyntheticRun> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const model = writeTinyModel(join(dir, 'tiny.onnx'));
  const images = join(dir, 'images');
  await writeImageFolder(images, { classes: 4, perClass: 8, seed: 3 });
  const run = join(dir, 'run');
  const result = await runCli(['extract', images, run, '--model', model, '--workers', '1', '--shard-size', '16', '--pca-k', '8', '--quiet']);
  if (result.code !== 0) throw new Error(`extract failed: ${result.stderr}`);
  return { dir, run, model, images, classes: ['Class A 1', 'Class B 1', 'Class C 1', 'Class D 1'] };
}

/** Source files whose change changes what `extract` writes: a cached sample run is rebuilt when they do. */
function pipelineFingerprint(modelPath: string, sampleDir: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) hash.update(path).update(readFileSync(path));
    }
  };
  for (const folder of ['images', 'pipeline', 'pca', 'dataset', 'model']) walk(join(REPO_ROOT, 'src', folder));
  const model = statSync(modelPath);
  hash.update(`${modelPath}:${model.size}:${model.mtimeMs}`);
  hash.update(readdirSync(sampleDir, { recursive: true }).map(String).sort().join('\n'));
  return hash.digest('hex').slice(0, 16);
}

/**
 * The real model's run over the Fruits-360 sample (141 classes × 3), made once and shared by the real-asset
 * test files (several processes): extracting it takes ~10 s of the whole machine. Built in a scratch folder
 * and renamed into place, so a reader never sees half a run; rebuilt when the pipeline's sources change.
 */
export async function sampleRun(): Promise<{ run: string; modelDir: string; dataDir: string }> {
  const assets = realAssets();
  if (!assets) throw new Error('real assets not available');
  const modelPath = join(assets.modelDir, 'mobilenet_v2_1.0_224_keras_features_nhwc.onnx');
  const sample = join(assets.dataDir, 'fruits-360-sample');
  // Outside the run's own temporary folder (test/support/temp-root.ts): kept for the next run.
  const cacheRoot = join(process.env.FRUITS_TEST_SYSTEM_TMPDIR ?? tmpdir(), 'fruits-test-runs');
  mkdirSync(cacheRoot, { recursive: true });
  const run = join(cacheRoot, `sample-${pipelineFingerprint(modelPath, sample)}`);
  if (!existsSync(join(run, '_SUCCESS'))) {
    const scratch = mkdtempSync(join(cacheRoot, 'building-'));
    const out = join(scratch, 'run');
    const result = await runCli(['extract', sample, out, '--shard-size', '128', '--quiet'], { env: { FRUITS_MODEL_DIR: assets.modelDir } });
    if (result.code !== 0) throw new Error(`extract of the sample failed: ${result.stderr}`);
    try {
      renameSync(out, run);
    } catch (error) {
      // Another test process finished first: use its run.
      if (!existsSync(join(run, '_SUCCESS'))) throw error;
    }
    rmSync(scratch, { recursive: true, force: true });
  }
  return { run, modelDir: assets.modelDir, dataDir: assets.dataDir };
}

/** A Fruits-360 Test image of `className` that is NOT one of the 3 in the sample run (the middle one of the rest). */
export function unseenTestImage(dataDir: string, className: string): string {
  const inSample = new Set(readdirSync(join(dataDir, 'fruits-360-sample', className)));
  const rest = readdirSync(join(dataDir, 'fruits-360-test', className))
    .sort()
    .filter((f) => !inSample.has(f));
  return join(dataDir, 'fruits-360-test', className, rest[Math.floor(rest.length / 2)]);
}
