import type { Worker } from 'node:worker_threads';
import type { ModelInfo } from '../../model/feature-extractor.js';
import type { ThreadInit, ThreadMessage, ThreadTask } from './messages.js';
import { spawnThread } from './spawn-thread.js';

/** A task a thread could not finish; carries the original error name for messages. */
export class WorkerTaskError extends Error {
  override name = 'WorkerTaskError';
}

/**
 * A fixed set of pipeline threads fed from one queue: an idle thread takes the next task, so a slow shard never
 * holds the others back. The first failure stops dispatch and rejects the whole batch of tasks.
 */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  model?: ModelInfo;

  constructor(
    private readonly size: number,
    private readonly init: ThreadInit,
  ) {}

  async start(): Promise<void> {
    const starting = Array.from({ length: this.size }, () => {
      const worker = spawnThread(import.meta.url, 'thread', this.init);
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
        const cleanup = () => {
          worker.off('message', onWorkerMessage);
          worker.off('error', onError);
          worker.off('exit', onExit);
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
          if (message.type === 'featurized' || message.type === 'projected') {
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

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}

function rebuild(message: Extract<ThreadMessage, { type: 'failed' }>): Error {
  const error = new WorkerTaskError(message.message);
  error.name = message.name || 'WorkerTaskError';
  return error;
}
