import picomatch from 'picomatch';
import { GlobPatternError } from './errors.js';

/**
 * picomatch's options for --glob. `nocase`: case-insensitive like the default extension filter (`*.jpg` takes
 * `UPPER.JPG`). `dot`: `*` and `**` also cross names starting with `.`, as the hand-written matcher did (hidden
 * files are dropped before matching anyway). `strictBrackets` + `debug`: an unbalanced or invalid pattern throws
 * instead of silently becoming a regex that matches nothing, which would report "none matches" on a good input.
 */
const OPTIONS: picomatch.PicomatchOptions = { nocase: true, dot: true, strictBrackets: true, debug: true };

/**
 * Compiles a --glob pattern to a RegExp tested against a key relative to the input root (`Class A 1/0_100.jpg`).
 * Bash-style globs through picomatch: `**` any folders (none included), `*` any characters but `/`, `?` one
 * character, `{a,b}` alternatives that may hold wildcards (`{a*,b}.jpg`), `[abc]` character classes,
 * `!(…)`/`@(…)` extglobs; `(`, `[`, `{` are syntax, so a literal one is written `\(`.
 *
 * @throws {GlobPatternError} when the pattern is malformed.
 * @example
 * globToRegExp('{*.jpg,*.png}').test('a.PNG'); // true
 */
export function globToRegExp(glob: string): RegExp {
  if (glob === '') throw new GlobPatternError('--glob needs a non-empty pattern');
  try {
    return picomatch.makeRe(glob, OPTIONS);
  } catch (error) {
    throw new GlobPatternError(`--glob ${glob}: ${reason((error as Error).message)}`, { cause: error });
  }
}

/** Each bracket's partner, both ways: picomatch names the closing one that is missing, or the opening one. */
const PARTNER: Record<string, string> = { '}': '{', ']': '[', ')': '(', '{': '}', '[': ']', '(': ')' };

/**
 * picomatch's reason, reworded: its 'Missing closing: "}" - use "\\}" …' shows the backslash doubled, as in a JS
 * string, where a shell user types one; the RegExp engine's text quotes the whole compiled regex.
 */
function reason(message: string): string {
  const missing = /^Missing (closing|opening): "(.)"/.exec(message);
  if (missing) {
    const [, side, named] = missing;
    const other = PARTNER[named] ?? named;
    return side === 'closing'
      ? `unclosed "${other}" (write \\${other} for a literal one)`
      : `"${other}" without "${named}" (write \\${other} for a literal one)`;
  }
  return /^Invalid regular expression: \/.*\/\w*: (.*)$/.exec(message)?.[1] ?? message.split('\n')[0];
}
