import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as classifierErrors from '../classifier/errors.js';
import { ClassifierClosedError } from '../classifier/errors.js';
import type { Identification, Method } from '../classifier/identifier.js';
import { fromWire, type WireError } from '../errors/wire.js';
import * as imageErrors from '../images/errors.js';
import * as modelErrors from '../model/errors.js';
import type { PhotoIdentifier } from './context.js';
import type { FromThread, ThreadedIdentifierInfo, ThreadedIdentifierOptions, ToThread } from './identifier-messages.js';

export type { ThreadedIdentifierInfo, ThreadedIdentifierOptions } from './identifier-messages.js';

/**
 * The photo identifier in a worker thread, so the HTTP event loop never waits for the model.
 *
 * onnxruntime-node runs a session synchronously on the calling thread (its `run` is a setImmediate around a
 * blocking call), and libuv accepts ONE connection per event loop iteration: with the model on the server's own
 * thread, an 8-photo batch made an iteration last 0.25-1 s, the server accepted ~10 connections per second during
 * a 400-client burst (strace: one accept4 per epoll_pwait), and /healthz waited 7-18 s in the kernel's accept
 * queue. A CPU profile of that burst put 39 % of the main thread in the session's run.
 */
export class ThreadedIdentifier implements PhotoIdentifier {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (value: Identification) => void; reject: (error: Error) => void }>();
  private closing: Promise<void> | undefined;
  private exited = false;

  private constructor(
    private readonly worker: Worker,
    readonly info: ThreadedIdentifierInfo,
  ) {
    worker.on('message', (message: FromThread) => {
      if (message.type !== 'result' && message.type !== 'error') return;
      const waiter = this.waiting.get(message.id);
      if (!waiter) return;
      this.waiting.delete(message.id);
      if (message.type === 'result') waiter.resolve(message.result);
      else waiter.reject(revive(message.error));
    });
    const fail = (error: Error) => {
      this.exited = true;
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
    worker.on('error', (error) => fail(error));
    worker.on('exit', (code) => fail(new ClassifierClosedError(`the identifier thread stopped (exit code ${code})`)));
  }

  /** Opens the run's identifier in a new thread; rejects with the thread's error (no run, no model, …). */
  static open(options: ThreadedIdentifierOptions): Promise<ThreadedIdentifier> {
    const { log, ...data } = options;
    const worker = spawnIdentifierThread(data);
    return new Promise((resolve, reject) => {
      const onMessage = (message: FromThread) => {
        if (message.type === 'log') log?.(message.line);
        else if (message.type === 'ready') {
          worker.off('exit', onExit);
          resolve(new ThreadedIdentifier(worker, message.info));
        } else if (message.type === 'failed') {
          worker.off('exit', onExit);
          void worker.terminate();
          reject(revive(message.error));
        }
      };
      const onExit = (code: number) => reject(new Error(`the identifier thread exited (code ${code}) before it was ready`));
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', onExit);
    });
  }

  get runId(): string {
    return this.info.runId;
  }

  get modelSha256(): string {
    return this.info.modelSha256;
  }

  get classes(): string[] {
    return this.info.classes;
  }

  get maxPixels(): number {
    return this.info.maxPixels;
  }

  /** Photos sent to the thread and not answered yet. */
  get pending(): number {
    return this.waiting.size;
  }

  /** Same contract as `Identifier.identify` (ImageDecodeError, QueueFullError, ClassifierClosedError). */
  identify(bytes: Uint8Array, method?: Method, options: { transfer?: boolean } = {}): Promise<Identification> {
    if (this.closing || this.exited) return Promise.reject(new ClassifierClosedError('the server is stopping'));
    const id = this.nextId++;
    // Moved, not copied, when the photo owns its whole buffer or the caller gives its buffer up (an upload's
    // body, the photo a view into it: a 400-client burst spent a fifth of the HTTP thread copying photos here);
    // any other view (a slice of Node's shared Buffer pool) must be copied, or the pool itself would be detached.
    const movable =
      bytes.buffer instanceof ArrayBuffer && (options.transfer === true || (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength));
    const photo = movable ? bytes : new Uint8Array(bytes);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const message: ToThread = { type: 'identify', id, bytes: photo, method };
      this.worker.postMessage(message, [photo.buffer as ArrayBuffer]);
    });
  }

  /** Closes the identifier in the thread, then the thread. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.exited) return resolve();
      const timer = setTimeout(() => void this.worker.terminate(), 10_000);
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      const message: ToThread = { type: 'close' };
      this.worker.postMessage(message);
    });
    return this.closing;
  }
}

/**
 * The thread runs identifier-worker.js beside this file; from source (tests, `node --import tsx`) the .ts one,
 * after registering tsx, since Node 20 does not apply the parent's --import loader to a worker's entry.
 */
function spawnIdentifierThread(workerData: unknown): Worker {
  const extension = extname(fileURLToPath(import.meta.url));
  const url = new URL(`./identifier-worker${extension}`, import.meta.url);
  if (extension !== '.ts') return new Worker(url, { workerData });
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/**
 * The thread's error rebuilt as its class, with its code, fields and cause: the HTTP layer maps the classifier's
 * and decoder's errors to 415/422/503, and `fruits serve` maps a run or model that cannot be opened to its exit
 * code. Errors of other layers come back as an Error with their name and code.
 */
function revive(error: WireError): Error {
  return fromWire(error, [classifierErrors, imageErrors, modelErrors]);
}
