import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
/** tsx by its resolved address: `--import tsx` would be looked up from the child's working directory. */
const TSX = import.meta.resolve('tsx');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  /** Working directory of the command (default: the repository root). */
  cwd?: string;
  /** Run as another user (tests of unreadable files need a non-root reader). */
  uid?: number;
  gid?: number;
  onSpawn?: (child: ChildProcess) => void;
}

/** Runs `fruits <args>` from source in a child process, the way a user runs the command. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      // A fresh model cache and an unreachable weights server by default: a test never reads the user's cache
      // and never reaches the internet, even when `extract` provisions a model on first use.
      env: {
        ...process.env,
        FRUITS_MODEL: '',
        FRUITS_MODEL_DIR: '',
        CI: '',
        XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), 'fruits-cache-')),
        FRUITS_WEIGHTS_BASE_URL: 'http://127.0.0.1:9/',
        ...options.env,
      },
      uid: options.uid,
      gid: options.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    options.onSpawn?.(child);
  });
}

/** An `onSpawn` that sends `signal` to the child as soon as `path` exists (e.g. a shard's done marker). */
export function signalWhenExists(path: string, signal: NodeJS.Signals): (child: ChildProcess) => void {
  return (child) => {
    const timer = setInterval(() => {
      if (existsSync(path)) {
        clearInterval(timer);
        child.kill(signal);
      }
    }, 20);
    child.on('exit', () => clearInterval(timer));
  };
}
