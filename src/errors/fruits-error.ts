/**
 * The base class of every error fruits raises on purpose.
 *
 * Two things make an error usable by code, not only by a reader: a `code` that never changes once released
 * (messages are rewritten to be clearer; scripts, the CLI's exit codes and tests match the code), and the
 * `cause` (the error it wraps: the fs error, the S3 reply, the onnxruntime failure), kept as an object so
 * `FRUITS_DEBUG=1` and a library user see the whole chain instead of a message that flattened it to text.
 *
 * A subclass names its default code once, as `static code`; an instance may carry a more precise one.
 *
 * @module
 */

/** What every fruits error takes besides its message. */
export interface FruitsErrorOptions {
  /** The error this one explains (kept as `error.cause`). */
  cause?: unknown;
  /** Overrides the class's code for this instance (e.g. a StorageError that mirrors a file error: ENOENT). */
  code?: string;
}

export class FruitsError extends Error {
  /** The code of errors of this class unless the instance says otherwise. */
  static readonly code: string = 'FRUITS_ERROR';

  /** Stable, machine-readable: `FRUITS_MODEL_NOT_FOUND`, `FRUITS_USAGE`… (see the README's "Exit codes"). */
  readonly code: string;

  constructor(message: string, options: FruitsErrorOptions = {}) {
    // No { cause: undefined }: an own `cause` property that is undefined still shows up in util.inspect.
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    // The class's own name, as BullMQ's errors do: no subclass can forget to set it.
    this.name = new.target.name;
    this.code = options.code ?? (new.target as typeof FruitsError).code;
  }
}

/**
 * A library call was given an option value it cannot use (a label rule without a capture group, an
 * unparsable glob, a storage URI of an unknown scheme). The CLI reports it as bad usage (exit 2).
 */
export class InvalidOptionError extends FruitsError {
  static override readonly code: string = 'FRUITS_INVALID_OPTION';
}
