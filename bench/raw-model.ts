import { spawnThread } from '../src/engine/local/spawn-thread.js';

export interface RawModelSetting {
  /** Model sessions, each on its own thread. */
  sessions: number;
  /** onnxruntime intra-op threads per session. */
  threads: number;
  batchSize: number;
}

/** Images/s of the bare model on random batches (no decoding), summed over the sessions running at once. */
export async function rawThroughput(modelPath: string, setting: RawModelSetting, seconds: number): Promise<number> {
  const results = await Promise.all(
    Array.from({ length: setting.sessions }, () => {
      const worker = spawnThread(import.meta.url, 'raw-model-thread', { modelPath, threads: setting.threads, batchSize: setting.batchSize, seconds });
      return new Promise<{ images: number; ms: number }>((resolve, reject) => {
        let result: { images: number; ms: number } | undefined;
        worker.once('message', (m) => (result = m));
        worker.once('error', reject);
        worker.once('exit', (code) => (result ? resolve(result) : reject(new Error(`raw-model thread exited with ${code} before reporting`))));
      });
    }),
  );
  return results.reduce((s, r) => s + r.images / (r.ms / 1000), 0);
}
