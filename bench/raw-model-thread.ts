import { parentPort, workerData } from 'node:worker_threads';
import { FeatureExtractor } from '../src/model/feature-extractor.js';

/** One thread of the raw-model benchmark: the engine's session settings, random batches, no decoding. */
const { modelPath, threads, batchSize, seconds } = workerData as { modelPath: string; threads: number; batchSize: number; seconds: number };
const extractor = await FeatureExtractor.open(modelPath, { threads });
const batch = new Float32Array(batchSize * 224 * 224 * 3).map(() => Math.random() * 2 - 1);
await extractor.extract(batch, batchSize);
const start = performance.now();
let images = 0;
while (performance.now() - start < seconds * 1000) {
  await extractor.extract(batch, batchSize);
  images += batchSize;
}
const ms = performance.now() - start;
// Closed before reporting: the caller lets the thread end by itself, never terminates it inside onnxruntime.
await extractor.close();
parentPort!.postMessage({ images, ms });
