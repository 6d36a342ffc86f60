/** One `fruits <name>` subcommand. `run` returns the process exit code. */
export interface Command {
  name: string;
  summary: string;
  /** Full --help text: usage line, what it does, every option with its default. */
  help: string;
  run(argv: string[]): Promise<number>;
}

/** The commands throw it for a bad call (one class per file under errors/, like the layers' errors). */
export { UsageError } from './errors.js';
