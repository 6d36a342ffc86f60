import { ClassifierClosedError, QueueFullError } from './errors.js';

export interface BatchQueueOptions {
  /** Items handed to one `process` call at most. */
  maxBatch: number;
  /** Items allowed to wait (not counting the batch being processed); one more is refused with QueueFullError. */
  maxWaiting: number;
}

interface Waiting<I, O> {
  item: I;
  enqueuedAt: number;
  resolve: (value: { output: O; waitMs: number; batchMs: number; batchSize: number }) => void;
  reject: (error: unknown) => void;
}

/**
 * Serialises work through ONE resource (a model session) and batches whatever piled up while it was busy:
 * with one client a photo goes through alone (lowest latency); with fifty, they go through in batches of
 * `maxBatch`, which onnxruntime runs ~2× faster per image than one by one. The waiting line is bounded so an
 * overload turns into quick 503s instead of minutes of queueing and exhausted memory.
 */
export class BatchQueue<I, O> {
  private readonly waiting: Waiting<I, O>[] = [];
  private busy = false;
  private closed = false;

  constructor(
    private readonly process: (items: I[]) => Promise<O[]>,
    private readonly options: BatchQueueOptions,
  ) {}

  get length(): number {
    return this.waiting.length;
  }

  get isBusy(): boolean {
    return this.busy;
  }

  push(item: I): Promise<{ output: O; waitMs: number; batchMs: number; batchSize: number }> {
    if (this.closed) return Promise.reject(new ClassifierClosedError('the classifier is shutting down'));
    if (this.waiting.length >= this.options.maxWaiting) {
      return Promise.reject(new QueueFullError(`${this.waiting.length} photos are already waiting for the model; try again in a few seconds`, 2));
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, enqueuedAt: performance.now(), resolve, reject });
      if (!this.busy) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.options.maxBatch);
        const started = performance.now();
        try {
          const outputs = await this.process(batch.map((w) => w.item));
          const batchMs = performance.now() - started;
          batch.forEach((w, i) => w.resolve({ output: outputs[i], waitMs: started - w.enqueuedAt, batchMs, batchSize: batch.length }));
        } catch (error) {
          for (const w of batch) w.reject(error);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  /** Refuses new items and fails the waiting ones; the batch in progress finishes. */
  close(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new ClassifierClosedError('the classifier is shutting down'));
  }
}

/** Bounds how many async jobs run at once (photo decoding: each holds a full-size image in libvips). */
export class Semaphore {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await job();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}
