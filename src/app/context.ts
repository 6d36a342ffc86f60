import type { Identification, Method } from '../classifier/identifier.js';
import type { Storage } from '../storage/storage.js';
import type { FruitDirectory } from './fruit-directory.js';

/** What the HTTP layer needs from the classifier: `Identifier` fits, and so does a test double. */
export interface PhotoIdentifier {
  readonly runId: string;
  readonly modelSha256: string;
  readonly classes: string[];
  /** Photos admitted and not answered yet. */
  readonly pending: number;
  /**
   * `transfer`: the caller gives up `bytes.buffer` (nothing else reads it), so an identifier in another thread may
   * move it there instead of copying it; it is detached afterwards.
   */
  identify(bytes: Uint8Array, method?: Method, options?: { transfer?: boolean }): Promise<Identification>;
}

export interface AppOptions {
  identifier: PhotoIdentifier;
  directory: FruitDirectory;
  /** The run's storage: corrections land under feedback/ in it. */
  feedback: Storage;
  /** Bytes feedback/ may hold (photos + records); beyond, POST /api/feedback answers 507. Default 500 MB. */
  feedbackMaxBytes?: number;
  /** Identify requests admitted at once (reading the upload, decoding, waiting, in the model): one more is refused
   * with 503 before its body is read. Default: unbounded here (the identifier's own queue still refuses). */
  maxQueued?: number;
  /** A refused identify request is answered after this hold (default 1000 ms; 0 = at once), at most
   * `maxHeldRefusals` at once (default 1000): clients that retry at once then wait on their own connection
   * instead of crowding the accept queue that /healthz shares. */
  refusalHoldMs?: number;
  maxHeldRefusals?: number;
  /** Largest accepted photo, in bytes. */
  maxUploadBytes: number;
  /** Decompression-bomb guard for photos sent with a correction (identify uses the identifier's own). */
  maxPixels: number;
  /** Photo requests per minute per client IP (burst of the same size); 0 turns the limit off. */
  rateLimitPerMinute: number;
  /** An identify request that has not been answered after this long gets a 503. */
  requestTimeoutMs: number;
  /** Take the client IP from X-Forwarded-For (only behind a reverse proxy that sets it). */
  trustProxy: boolean;
  /** One line per request (method, path, status, ms); never the client's IP or photo. */
  log?: (entry: Record<string, unknown>) => void;
  version?: string;
}
