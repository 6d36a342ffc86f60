import type { OptionTable } from './option-table.js';

/** One `fruits <name>` subcommand. `run` returns the process exit code. */
export interface Command {
  name: string;
  summary: string;
  /** Full --help text: usage line, what it does, every option with its default. */
  help: string;
  /** The declarations its help lists and its run parses (one table; `model`: one per subcommand). */
  options: readonly OptionTable[];
  run(argv: string[]): Promise<number>;
}

/** The commands throw it for a bad call (one class per file under errors/, like the layers' errors). */
export { UsageError } from './errors.js';
