import type { Server } from 'node:net';
import type { Readable } from 'node:stream';

/**
 * Gives a burst of new connections the event loop before the uploads already being read.
 *
 * Why: libuv accepts one connection per event-loop iteration (libuv/libuv#3696, Node ≥ 20), and every iteration
 * also reads every socket that has data, up to 32 × 64 KB each. When 400 clients connect at once and 200 of them
 * are admitted and send 1 MB photos, each iteration reads those uploads: `ss` showed ~165 connections waiting in
 * the listen queue for 600-800 ms, accepted one per 4-15 ms iteration, and a `/healthz` connection behind them
 * answered in 0.6-0.9 s although the loop never stalled for more than 0.2 s (2 cores, 2026-12-03). So while
 * connections are being accepted, the uploads being read are paused (their sockets are no longer read once
 * Node's small buffer is full; TCP keeps the rest with the client), an iteration costs little more than its
 * accept, and the queue drains in tens of ms. Reading resumes after the first iteration that accepted nothing,
 * and at the latest after `maxPauseMs`, for one iteration: a steady stream of connections slows the uploads but
 * never stops them.
 *
 * One per thread is enough (an event loop accepts for all of its servers): see `acceptFirst`.
 *
 * @example
 * ```ts
 * acceptFirst.watch(server); // the HTTP server
 * const untrack = acceptFirst.track(request); // a request whose body is read with 'data' events
 * request.once('end', untrack);
 * ```
 */
export class AcceptFirst {
  private readonly readers = new Set<Readable>();
  private acceptedThisTurn = false;
  private pausedAt: number | undefined;
  /** After a pause of maxPauseMs: one iteration in which the readers are read whatever connections come. */
  private readingTurn = false;
  private checking = false;

  /** @param maxPauseMs longest pause of the uploads before they get an iteration of reading. */
  constructor(private readonly maxPauseMs = 100) {}

  /** Counts the connections `server` accepts. */
  watch(server: Server): void {
    server.on('connection', () => this.accepted());
  }

  /**
   * Pauses `reader` (a stream read in flowing mode that nothing else pauses) while a burst of connections is being
   * accepted, from now until the returned function is called.
   */
  track(reader: Readable): () => void {
    this.readers.add(reader);
    if (this.paused) reader.pause();
    return () => {
      this.readers.delete(reader);
    };
  }

  /** Whether the tracked readers are paused now. */
  get paused(): boolean {
    return this.pausedAt !== undefined;
  }

  private accepted(): void {
    this.acceptedThisTurn = true;
    if (!this.paused && !this.readingTurn) this.pause();
    if (this.checking) return;
    this.checking = true;
    // 'connection' is emitted in the poll phase; an immediate runs in the same iteration's check phase.
    setImmediate(() => this.endOfTurn());
  }

  /** After each poll phase while connections come: resume once one brought none, or after maxPauseMs. */
  private endOfTurn(): void {
    const accepted = this.acceptedThisTurn;
    this.acceptedThisTurn = false;
    if (this.readingTurn) {
      this.readingTurn = false;
      if (accepted) this.pause();
    } else if (!accepted) {
      this.resume();
    } else if (performance.now() - this.pausedAt! >= this.maxPauseMs) {
      this.resume();
      this.readingTurn = true;
    }
    // With an immediate pending the next poll does not block, so this runs only during a burst.
    if (accepted) setImmediate(() => this.endOfTurn());
    else this.checking = false;
  }

  private pause(): void {
    this.pausedAt = performance.now();
    for (const reader of this.readers) reader.pause();
  }

  private resume(): void {
    if (!this.paused) return;
    this.pausedAt = undefined;
    for (const reader of this.readers) reader.resume();
  }
}

/** The HTTP thread's AcceptFirst: `startServer` watches its server, `readUpload` tracks the uploads it reads. */
export const acceptFirst = new AcceptFirst();
