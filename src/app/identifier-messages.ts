import type { Identification, IdentifierOptions, Method } from '../classifier/identifier.js';
import type { WireError } from '../errors/wire.js';

/** Messages from the server's thread to the identifier thread. */
export type ToThread = { type: 'identify'; id: number; bytes: Uint8Array; method?: Method } | { type: 'close' };

/** Messages back. */
export type FromThread =
  | { type: 'log'; line: string }
  | { type: 'ready'; info: ThreadedIdentifierInfo }
  | { type: 'failed'; error: WireError }
  | { type: 'result'; id: number; result: Identification }
  | { type: 'error'; id: number; error: WireError };

/** What `fruits serve` reports about the identifier it opened. */
export interface ThreadedIdentifierInfo {
  runId: string;
  modelSha256: string;
  classes: string[];
  maxPixels: number;
  referenceRows: number;
  classifierSource: 'cache' | 'trained';
}

/** The options of `Identifier.open` that cross to the thread: plain data, the run as a path or URI. */
export type ThreadedIdentifierOptions = Omit<IdentifierOptions, 'run' | 'log'> & { run: string; log?: (line: string) => void };
