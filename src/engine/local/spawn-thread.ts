import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread on a module that sits next to `base` (import.meta.url of the caller) under `name`.
 * From dist the thread runs name.js. From source (tests, `node --import tsx`) it runs name.ts: Node 20 does not
 * apply the parent's --import loader to a worker's entry file, so the worker registers tsx itself first.
 */
export function spawnThread(base: string, name: string, workerData: unknown): Worker {
  const extension = extname(fileURLToPath(base));
  const url = new URL(`./${name}${extension}`, base);
  if (extension !== '.ts') return new Worker(url, { workerData });
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
