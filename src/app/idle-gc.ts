import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's full collection, if it can be had in this process (the `--expose-gc` flag, set at run time). */
function garbageCollector(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Once `busy()` has been false for `quietMs` after being true, runs one full garbage collection.
 *
 * The photos of a burst (1 MB uploads, their form copies, decoded pixels) are external memory that V8 frees only
 * when it collects, and an idle server allocates nothing that would make it collect: after a 400-client burst
 * the server's ArrayBuffers stayed at ~130 MB and its RSS at the burst's peak for 10 s and more, coming down only
 * when V8's memory reducer ran (~30 s). Checked every second; the timer never keeps the process alive.
 * Returns a function that stops it.
 */
export function collectWhenIdle(busy: () => boolean, quietMs = 2000): () => void {
  const gc = garbageCollector();
  if (!gc) return () => {};
  let dirty = false;
  let quietSince = 0;
  const timer = setInterval(() => {
    if (busy()) {
      dirty = true;
      quietSince = 0;
      return;
    }
    if (!dirty) return;
    quietSince ||= Date.now();
    if (Date.now() - quietSince >= quietMs) {
      dirty = false;
      gc();
    }
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}
