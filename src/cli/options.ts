import { UsageError } from './command.js';

/** Parses a whole number option, with the option's name in the error. */
export function intOption(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}, not "${value}"`);
  return n;
}

export function fractionOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new UsageError(`--${name} must be a number in (0, 1], not "${value}"`);
  return n;
}

/** The run folder of a command that takes it as --run (required) and no positional argument. */
export function runOption(run: string | undefined, positionals: string[]): string {
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]} (the run goes with --run)`);
  if (!run) throw new UsageError('--run <run folder> is required');
  return run;
}

/** `--run` as the commands on a finished run declare it (serve, identify, evaluate). */
export const RUN_OPTION = { type: 'string', value: 'PATH|URI', help: 'a finished run of `fruits extract` (required)' } as const;

/** `--model` of the app commands (serve, identify): by default the run's own model. */
export const RUN_MODEL_OPTION = {
  type: 'string',
  value: 'PATH',
  help: [
    "ONNX model file or folder (default: the run's own model, found by the sha256",
    'it recorded in FRUITS_MODEL_DIR, the cache, then the path it recorded; or FRUITS_MODEL)',
  ],
} as const;
