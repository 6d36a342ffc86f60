import type { Worker } from 'node:worker_threads';
import type { ModelInfo } from '../../model/feature-extractor.js';
import { WorkerTaskError } from '../errors.js';
import { threadError } from '../thread-errors.js';
import type { ThreadInit, ThreadMessage, ThreadTask } from './messages.js';
import { spawnThread } from './spawn-thread.js';

/**
 * A fixed set of pipeline threads fed from one queue: an idle thread takes the next task, so a slow shard never
 * holds the others back. The first failure stops dispatch and rejects the whole batch of tasks.
 */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  /** Workers with a task in hand, and when that task ends (its result, its failure, or the thread's exit). */
  private readonly busy = new Map<Worker, Promise<void>>();
  private readonly stop = new Int32Array(new SharedArrayBuffer(4));
  private terminating?: Promise<void>;
  model?: ModelInfo;

  constructor(
    private readonly size: number,
    private readonly init: Omit<ThreadInit, 'stop'>,
    /** How long terminate() waits for tasks in hand to reach a batch boundary before killing their threads. */
    private readonly stopGraceMs = 30_000,
  ) {}

  async start(): Promise<void> {
    const starting = Array.from({ length: this.size }, () => {
      const worker = spawnThread(import.meta.url, 'thread', { ...this.init, stop: this.stop } satisfies ThreadInit);
      this.workers.push(worker);
      return new Promise<void>((resolve, reject) => {
        const onMessage = (message: ThreadMessage) => {
          if (message.type === 'ready') {
            this.model = message.model;
            resolve();
          } else if (message.type === 'failed') reject(rebuild(message));
          worker.off('message', onMessage);
        };
        worker.on('message', onMessage);
        worker.once('error', reject);
      });
    });
    try {
      await Promise.all(starting);
    } catch (error) {
      await this.terminate();
      throw error;
    }
  }

  /** Runs every task; `onMessage` sees progress and results as they come. */
  run(tasks: ThreadTask[], onMessage: (message: ThreadMessage) => void): Promise<void> {
    const queue = [...tasks];
    let active = 0;
    let failed = false;
    return new Promise((resolve, reject) => {
      const feed = (worker: Worker) => {
        if (failed) return;
        const task = queue.shift();
        if (!task) {
          if (active === 0) resolve();
          return;
        }
        active++;
        let ended!: () => void;
        this.busy.set(worker, new Promise<void>((r) => (ended = r)));
        const cleanup = () => {
          worker.off('message', onWorkerMessage);
          worker.off('error', onError);
          worker.off('exit', onExit);
          this.busy.delete(worker);
          ended();
        };
        const fail = (error: Error) => {
          cleanup();
          if (!failed) {
            failed = true;
            reject(error);
          }
        };
        const onWorkerMessage = (message: ThreadMessage) => {
          if (message.type === 'failed') return fail(rebuild(message));
          onMessage(message);
          if (message.type === 'featurized' || message.type === 'projected' || message.type === 'augmented') {
            cleanup();
            active--;
            feed(worker);
            if (active === 0 && queue.length === 0 && !failed) resolve();
          }
        };
        const onError = (error: Error) => fail(error);
        const onExit = (code: number) => fail(new WorkerTaskError(`a pipeline thread exited with code ${code} during ${task.type}`));
        worker.on('message', onWorkerMessage);
        worker.once('error', onError);
        worker.once('exit', onExit);
        worker.postMessage(task);
      };
      if (queue.length === 0) return resolve();
      for (const worker of this.workers) feed(worker);
    });
  }

  /**
   * Stops every thread. Threads with a task in hand are asked to stop at their next batch boundary and are
   * terminated once idle: terminating one inside onnxruntime's run aborts the whole process.
   */
  terminate(): Promise<void> {
    this.terminating ??= (async () => {
      Atomics.store(this.stop, 0, 1);
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((r) => (timer = setTimeout(r, this.stopGraceMs)));
      await Promise.race([Promise.all(this.busy.values()), grace]);
      clearTimeout(timer);
      await Promise.all(this.workers.map((w) => w.terminate()));
      this.workers.length = 0;
    })();
    return this.terminating;
  }
}

/** The thread's error as its class, code, fields and cause (postMessage alone would keep a bare Error). */
function rebuild(message: Extract<ThreadMessage, { type: 'failed' }>): Error {
  return threadError(message.error);
}
