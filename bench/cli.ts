import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The benchmarks time the CLI as users run it: the compiled dist/cli/main.js (`npm run bench*` build it first).
 * From source every process and worker thread would also pay tsx's compilation, a few seconds of a 90-second run.
 */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** FRUITS_BENCH_CLI: another build of the CLI (a copy of dist/ made while the working tree is in flux). */
export const CLI = process.env.FRUITS_BENCH_CLI ?? join(ROOT, 'dist/cli/main.js');

export function cliArgs(args: string[], preload: string[] = []): string[] {
  if (!existsSync(CLI)) {
    console.error(`bench: ${CLI} is missing: run npm run build first (npm run bench* does it).`);
    process.exit(2);
  }
  return [...preload.flatMap((p) => ['--import', p]), CLI, ...args];
}

/** --input, or the full Fruits-360 Test set under FRUITS_DATA_DIR; exits with a hint when there is neither. */
export function benchInput(name: string, input: string | undefined): string {
  const found = input ?? (process.env.FRUITS_DATA_DIR ? join(process.env.FRUITS_DATA_DIR, 'fruits-360-test') : undefined);
  if (!found) {
    console.error(`${name}: no input. Set FRUITS_DATA_DIR (…/shared/data) or pass --input DIR.`);
    process.exit(2);
  }
  return found;
}
