/** One `fruits <name>` subcommand. `run` returns the process exit code. */
export interface Command {
  name: string;
  summary: string;
  /** Full --help text: usage line, what it does, every option with its default. */
  help: string;
  run(argv: string[]): Promise<number>;
}

/** A mistake in how the command was called: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
