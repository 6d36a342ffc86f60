import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { modelCacheDir } from '../../model/locate.js';
import { sha256Bytes, sha256File } from '../../model/sha256.js';
import type { Storage } from '../../storage/storage.js';
import { ModelBroadcastError } from './errors.js';
import { layout } from '../../dataset/layout.js';

/**
 * The "broadcast" of the model weights (Spark's broadcast variable): the coordinator puts the model file next
 * to the run once, content-addressed as `<output>/_tmp/model/<sha256>.onnx`; every worker downloads it once per
 * sha256 into its local cache, checks the sha256 and keeps it for every later run with the same model. Workers
 * need neither internet access nor a model of their own. The commit removes `_tmp/`, and with it the copy.
 */
export class ModelBroadcast {
  private readonly fetched = new Map<string, Promise<string>>();

  /**
   * @param cacheDir local cache root; files go to `<cacheDir>/<sha256>/<file name>`. The original file name is
   *   kept because it decides the model's preprocessing (see known-models.ts).
   */
  constructor(readonly cacheDir: string = join(modelCacheDir(), 'by-sha256')) {}

  static storageKey(sha256: string): string {
    return layout.broadcastModel(sha256);
  }

  /** Uploads the model unless the run's output already holds it (same key = same sha256). */
  static async publish(output: Storage, modelPath: string, sha256: string): Promise<'uploaded' | 'present'> {
    const key = ModelBroadcast.storageKey(sha256);
    if (await output.exists(key)) return 'present';
    const bytes = await readFile(modelPath);
    const actual = sha256Bytes(bytes);
    if (actual !== sha256) throw new ModelBroadcastError(`model ${modelPath} changed while the run was prepared (sha256 ${actual}, expected ${sha256})`);
    await output.write(key, bytes);
    return 'uploaded';
  }

  /** Local path of the run's model, downloaded from the run's output on first use; concurrent calls share one download. */
  fetch(output: Storage, model: { file: string; sha256: string }): Promise<string> {
    let pending = this.fetched.get(model.sha256);
    if (!pending) {
      pending = this.download(output, model);
      this.fetched.set(model.sha256, pending);
      // A failed download is not remembered: the next job of the run tries again.
      pending.catch(() => this.fetched.delete(model.sha256));
    }
    return pending;
  }

  private async download(output: Storage, model: { file: string; sha256: string }): Promise<string> {
    const target = join(this.cacheDir, model.sha256, model.file);
    if (existsSync(target) && (await sha256File(target)) === model.sha256) return target;
    const key = ModelBroadcast.storageKey(model.sha256);
    let bytes: Buffer;
    try {
      bytes = await output.read(key);
    } catch (error) {
      throw new ModelBroadcastError(
        `cannot read the run's model from ${output.uri}/${key}: ${(error as Error).message}. ` +
          `The coordinator publishes it there; run \`fruits extract … --resume\` to publish it again.`,
      );
    }
    const actual = sha256Bytes(bytes);
    if (actual !== model.sha256) {
      throw new ModelBroadcastError(`model at ${output.uri}/${key} has sha256 ${actual}, expected ${model.sha256}: the copy is corrupt`);
    }
    // Write then rename: workers sharing a cache volume never see a half-written model.
    await mkdir(dirname(target), { recursive: true });
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, bytes);
      await rename(temp, target);
    } finally {
      await rm(temp, { force: true });
    }
    return target;
  }
}
