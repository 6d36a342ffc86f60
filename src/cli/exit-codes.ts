/**
 * The CLI's exit codes: which errors end a command with which status, and the table `fruits --help` and the
 * README show. The layers' errors carry a stable `code` (FruitsError); this is the one place that turns codes
 * into process statuses, so a script can tell "fix the call" (2) from "the input is not there" (3), "get or fix
 * the model" (4) and "the output holds another run" (5) without parsing messages.
 *
 * @module
 */
import { InvalidOptionError } from '../index.js';

export const EXIT = {
  /** The command did what it was asked. */
  ok: 0,
  /** It did not: the run failed, an unexpected error, `--fail-on-error` with failed images, Redis unreachable. */
  failed: 1,
  usage: 2,
  inputNotFound: 3,
  model: 4,
  outputConflict: 5,
  /** 128 + SIGINT, as shells report a command stopped by Ctrl-C. */
  interrupted: 130,
} as const;

/** Printed by `fruits --help`; the README's "Exit codes" table says the same. */
export const EXIT_CODES_HELP = `Exit codes:
  0    done
  1    failed (a shard failed all its attempts, Redis unreachable, --fail-on-error with failed images, a bug)
  2    bad usage: unknown command or option, a missing or malformed value (one line on stderr)
  3    input not found: the input does not exist, holds no images (or too few for a PCA), or the folder given
       with --run holds no finished run
  4    model: none found, or it cannot be fetched, verified or used (corrupt, wrong sha256, not the run's model)
  5    output conflict: the output folder holds another run or files fruits did not write (--resume, --overwrite)
  130  interrupted (Ctrl-C, SIGTERM): parts already written are kept; --resume finishes the run`;

/** Error codes by exit status; any code not listed (and any error without one) exits 1. */
const BY_CODE: Record<string, number> = {
  FRUITS_USAGE: EXIT.usage,
  FRUITS_REDIS_URL: EXIT.usage,
  // InvalidOptionError's codes, for one that reaches here without its class (rebuilt from another thread).
  FRUITS_INVALID_OPTION: EXIT.usage,
  FRUITS_GLOB_PATTERN: EXIT.usage,
  FRUITS_LABEL_RULE: EXIT.usage,
  FRUITS_STORAGE_URI: EXIT.usage,
  FRUITS_LABELS_FILE: EXIT.usage,
  FRUITS_INPUT_NOT_FOUND: EXIT.inputNotFound,
  FRUITS_INPUT_EMPTY: EXIT.inputNotFound,
  FRUITS_TOO_FEW_IMAGES: EXIT.inputNotFound,
  FRUITS_RUN_NOT_READY: EXIT.inputNotFound,
  FRUITS_MODEL: EXIT.model,
  FRUITS_MODEL_NOT_FOUND: EXIT.model,
  FRUITS_MODEL_CHECKSUM: EXIT.model,
  FRUITS_MODEL_CONTRACT: EXIT.model,
  FRUITS_MODEL_VERIFICATION: EXIT.model,
  FRUITS_MODEL_WEIGHTS: EXIT.model,
  FRUITS_MODEL_WEIGHTS_NOT_FOUND: EXIT.model,
  FRUITS_MODEL_DOWNLOAD: EXIT.model,
  FRUITS_MODEL_BROADCAST: EXIT.model,
  FRUITS_RUN_MODEL_MISMATCH: EXIT.model,
  FRUITS_OUTPUT_CONFLICT: EXIT.outputConflict,
  FRUITS_INTERRUPTED: EXIT.interrupted,
};

/** The exit status for an error that ended a command. */
export function exitCodeOf(error: unknown): number {
  // Every invalid library option is bad usage, whatever its own code (FRUITS_GLOB_PATTERN, FRUITS_LABEL_RULE…).
  if (error instanceof InvalidOptionError) return EXIT.usage;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return EXIT.failed;
  if (code.startsWith('ERR_PARSE_ARGS_')) return EXIT.usage;
  return BY_CODE[code] ?? EXIT.failed;
}
