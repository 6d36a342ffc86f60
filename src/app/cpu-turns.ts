/**
 * Synchronous CPU work of concurrent requests, run a few at a time between event-loop iterations.
 *
 * Why: in a 400-client burst the 200 admitted uploads start together, stream at the same rate and so end
 * together; each then costs ~1 ms of parsing on the HTTP thread (a 1 MB scan for the multipart boundary), and run
 * as each body ends they all ran inside one or two iterations. Meanwhile nothing else on the loop moved: a
 * /healthz request, accepted at once, waited 0.4-0.8 s (load 5) to be read. Queued here, the work runs in
 * setImmediate callbacks, at most `budgetMs` of it per iteration, and the sockets are polled in between.
 */
export class CpuTurns {
  private readonly queue: (() => void)[] = [];
  private scheduled = false;

  /** @param budgetMs work run per iteration at most (one job always runs, however long). */
  constructor(private readonly budgetMs = 4) {}

  /** Runs `work` in a later turn of the event loop, in the order asked; its result or exception settles the promise. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push(() => {
        try {
          resolve(work());
        } catch (error) {
          reject(error as Error);
        }
      });
      this.schedule();
    });
  }

  /** Jobs waiting for their turn. */
  get waiting(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // An immediate set from inside an immediate runs in the next iteration, after the poll phase.
    setImmediate(() => {
      this.scheduled = false;
      const deadline = performance.now() + this.budgetMs;
      do this.queue.shift()!();
      while (this.queue.length > 0 && performance.now() < deadline);
      if (this.queue.length > 0) this.schedule();
    });
  }
}
