import { InvalidOptionError } from '../../errors/fruits-error.js';

/**
 * Thrown for a --glob pattern that cannot be matched (an unclosed `{`, `[` or `(`, a reversed range like `[z-a]`).
 * The message is one line, `--glob <pattern>: <why>`; the CLI reports it as bad usage (exit code 2).
 */
export class GlobPatternError extends InvalidOptionError {
  static override readonly code: string = 'FRUITS_GLOB_PATTERN';
}
