import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DownloadError, ModelChecksumError } from '../errors.js';
import { sha256File } from '../sha256.js';

export interface DownloadOptions {
  url: string;
  /** Final path; the transfer goes to `<dest>.part` and is renamed here only after the size and hash checks. */
  dest: string;
  /** Pinned size in bytes: a server sending anything else is refused. */
  bytes: number;
  /** Pinned sha256 (hex); when unknown the caller must verify the content another way (the built model's golden checks). */
  sha256?: string;
  onProgress?: (done: number, total: number) => void;
  /** Tries per call; a broken transfer resumes (HTTP Range) or restarts on the next try. Default 3. */
  attempts?: number;
  /** Abort a transfer that receives nothing for this long. Default 30 s. */
  idleTimeoutMs?: number;
  /** Pause between tries. Default 1 s. */
  retryDelayMs?: number;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** Where the completing transfer resumed (HTTP 206) in bytes; 0 when it (re)started from the beginning. */
  resumedFrom: number;
  /** The file was already complete at `dest`: nothing was transferred. */
  cached: boolean;
}

/**
 * Downloads `url` to `dest`, checked against the pinned size and sha256:
 * - bytes go to `<dest>.part`; an interrupted transfer leaves it there and the next try (or the next call) asks for
 *   the rest with `Range: bytes=<have>-`. A server that answers 200 instead of 206 sends the whole file again, and
 *   the part file is restarted from zero;
 * - `dest` appears only by rename after the size and sha256 checks, so it is never half-written;
 * - a complete part file with the wrong hash is deleted (a retry must not resume a bad prefix).
 */
export async function downloadVerified(options: DownloadOptions): Promise<DownloadResult> {
  const { url, dest, bytes } = options;
  const part = `${dest}.part`;
  const attempts = Math.max(1, options.attempts ?? 3);
  const progress = options.onProgress ?? (() => undefined);

  if (existsSync(dest)) {
    const size = statSync(dest).size;
    const sha256 = size === bytes ? await sha256File(dest) : '';
    if (size === bytes && (!options.sha256 || sha256 === options.sha256)) {
      progress(bytes, bytes);
      return { path: dest, bytes, sha256, resumedFrom: 0, cached: true };
    }
    rmSync(dest, { force: true }); // damaged or replaced: fetch it again
  }
  await mkdir(dirname(dest), { recursive: true });

  let resumedFrom = 0;
  let lastError: DownloadError | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep(options.retryDelayMs ?? 1000);
    try {
      resumedFrom = await transfer(options, part, progress);
      lastError = undefined;
      break;
    } catch (error) {
      if (!(error instanceof DownloadError)) throw error;
      lastError = error;
      if (!error.retryable) break;
    }
  }
  if (lastError) throw lastError;

  const size = partSize(part);
  if (size !== bytes) {
    rmSync(part, { force: true });
    throw new DownloadError(`${url}: received ${size} bytes, expected ${bytes}`, 'mismatch');
  }
  const sha256 = await sha256File(part);
  if (options.sha256 && sha256 !== options.sha256) {
    rmSync(part, { force: true });
    throw new ModelChecksumError(
      `${url} has sha256 ${sha256}, expected the pinned ${options.sha256}: the server sent a different file ` +
        `(a proxy or mirror rewriting it, or it was replaced upstream). Nothing was kept.`,
    );
  }
  renameSync(part, dest);
  return { path: dest, bytes, sha256, resumedFrom, cached: false };
}

function partSize(part: string): number {
  return existsSync(part) ? statSync(part).size : 0;
}

/**
 * One HTTP request: appends to the part file from where it stops (206) or rewrites it (200).
 * Returns the offset it resumed from (0 for a transfer from the start).
 */
async function transfer(options: DownloadOptions, part: string, progress: (done: number, total: number) => void): Promise<number> {
  const { url, bytes } = options;
  let offset = partSize(part);
  if (offset > bytes) {
    rmSync(part, { force: true });
    offset = 0;
  }
  if (offset === bytes) return offset; // complete from an earlier call; checked by the caller

  const controller = new AbortController();
  const idleMs = options.idleTimeoutMs ?? 30_000;
  let timer = setTimeout(() => controller.abort(), idleMs);
  const touch = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(), idleMs);
  };
  try {
    let response: Response;
    try {
      response = await fetch(url, {
        headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
        signal: controller.signal,
        redirect: 'follow',
      });
    } catch (error) {
      throw new DownloadError(`cannot reach ${url}: ${describeNetworkError(error, controller.signal.aborted)}`, 'unreachable', undefined, { cause: error });
    }
    touch();

    let append: boolean;
    if (offset > 0 && response.status === 206) {
      const start = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
      if (!start || Number(start[1]) !== offset || (start[3] !== '*' && Number(start[3]) !== bytes)) {
        await response.body?.cancel();
        rmSync(part, { force: true });
        throw new DownloadError(
          `${url}: unexpected Content-Range "${response.headers.get('content-range')}" for a resume at ${offset}; restarting`,
          'interrupted',
        );
      }
      append = true;
    } else if (response.status === 200) {
      append = false;
      offset = 0;
    } else if (response.status === 416) {
      // The part file does not fit the file on the server any more: start over.
      await response.body?.cancel();
      rmSync(part, { force: true });
      throw new DownloadError(`${url}: server refused the resume (416); restarting`, 'interrupted');
    } else {
      await response.body?.cancel();
      throw new DownloadError(`${url}: HTTP ${response.status} ${response.statusText}`.trim(), 'http', response.status);
    }
    const length = Number(response.headers.get('content-length') ?? NaN);
    if (Number.isFinite(length) && offset + length !== bytes) {
      await response.body?.cancel();
      rmSync(part, { force: true });
      throw new DownloadError(`${url}: the server's file has ${offset + length} bytes, expected the pinned ${bytes}`, 'mismatch');
    }

    const file = await open(part, append ? 'a' : 'w');
    let done = offset;
    progress(done, bytes);
    try {
      if (!response.body) throw new DownloadError(`${url}: empty response`, 'interrupted');
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        touch();
        if (done + chunk.length > bytes) {
          await file.close().catch(() => undefined);
          rmSync(part, { force: true });
          throw new DownloadError(`${url}: the server sent more than the pinned ${bytes} bytes`, 'mismatch');
        }
        await file.write(chunk);
        done += chunk.length;
        progress(done, bytes);
      }
    } catch (error) {
      if (error instanceof DownloadError) throw error;
      throw new DownloadError(
        `download of ${url} interrupted at ${done} of ${bytes} bytes (${describeNetworkError(error, controller.signal.aborted)}); ` +
          `the ${done} bytes are kept in ${part} and the next try resumes from there`,
        'interrupted',
        undefined,
        { cause: error },
      );
    } finally {
      await file.close().catch(() => undefined);
    }
    if (done !== bytes) {
      throw new DownloadError(`download of ${url} ended at ${done} of ${bytes} bytes; the next try resumes from there`, 'interrupted');
    }
    return append ? offset : 0;
  } finally {
    clearTimeout(timer);
  }
}

function describeNetworkError(error: unknown, aborted: boolean): string {
  if (aborted) return 'no data received for too long';
  const e = error as Error & { cause?: { code?: string; message?: string } };
  const code = e.cause?.code;
  const detail = e.cause?.message ?? e.message;
  return code ? `${code}: ${detail}` : detail;
}
