import { ModelError } from './model-error.js';

/**
 * Why a transfer did not complete:
 * - `unreachable`: no connection at all (offline, DNS, refused) — retrying now is pointless, rerun when connected;
 * - `interrupted`: the connection broke or stalled mid-transfer (or a resume was refused) — the next try resumes;
 * - `http`: the server answered with an error status (`status`); 5xx are retried;
 * - `mismatch`: the server's file is not the pinned one (size) — never retried.
 */
export type DownloadFailure = 'unreachable' | 'interrupted' | 'http' | 'mismatch';

/** The pinned weights could not be downloaded; `failure` says why and whether a retry can help. */
export class DownloadError extends ModelError {
  static override readonly code: string = 'FRUITS_MODEL_DOWNLOAD';

  constructor(
    message: string,
    readonly failure: DownloadFailure,
    readonly status?: number,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }

  get retryable(): boolean {
    return this.failure === 'interrupted' || (this.failure === 'http' && this.status !== undefined && this.status >= 500);
  }
}
