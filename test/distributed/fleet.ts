import type { ChildProcess } from 'node:child_process';
import { runCli, type CliResult } from '../support/cli.js';

export interface LogLine {
  msg?: string;
  worker?: string;
  runId?: string;
  stage?: string;
  shard?: number;
  [key: string]: unknown;
}

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  /** Every JSON line of its stdout so far (pino logs and EMF metric lines). */
  lines: LogLine[];
  exited: Promise<CliResult>;
}

/** Fast stalled-job recovery for tests: a dead worker's job is back in the queue about 2 s after the kill. */
export const FAST_RECOVERY = ['--lock-ms', '1500', '--stalled-ms', '500'];

/** `fruits worker` processes started from source, the way an operator starts them, with their logs parsed. */
export class WorkerFleet {
  readonly workers: WorkerProcess[] = [];
  private readonly waiters: (() => void)[] = [];

  constructor(
    private readonly redisUrl: string,
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  /**
   * Starts a worker and resolves once it logged "worker started". Its working directory is the repository root
   * unless `cwd` is given: with neither --allow nor FRUITS_ALLOW, that directory is all the worker accepts.
   */
  async start(name: string, args: string[] = FAST_RECOVERY, env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<WorkerProcess> {
    let child: ChildProcess | undefined;
    const lines: LogLine[] = [];
    const exited = runCli(['worker', '--name', name, '--metrics-interval-ms', '0', ...args], {
      env: { FRUITS_REDIS_URL: this.redisUrl, ...this.env, ...env },
      cwd,
      onSpawn: (c) => {
        child = c;
        let buffer = '';
        c.stdout!.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          let newline;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const text = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            try {
              lines.push(JSON.parse(text) as LogLine);
            } catch {
              lines.push({ msg: `non-JSON line: ${text}` });
            }
            this.waiters.splice(0).forEach((wake) => wake());
          }
        });
      },
    });
    const worker: WorkerProcess = { name, child: child!, lines, exited };
    // A test process that dies must not leave workers retrying a vanished Redis forever.
    const reap = () => worker.child.kill('SIGKILL');
    process.once('exit', reap);
    void exited.then(() => process.off('exit', reap));
    this.workers.push(worker);
    await this.waitFor(() => lines.some((l) => l.msg === 'worker started'), 30_000, `${name} to start`, worker);
    return worker;
  }

  /** Resolves when `check` holds (re-evaluated on every log line, and every 100 ms). */
  async waitFor<T>(check: () => T | undefined | false, timeoutMs: number, what: string, worker?: WorkerProcess): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; logs:\n${this.dump()}`);
      if (worker && worker.child.exitCode !== null)
        throw new Error(`${worker.name} exited (${worker.child.exitCode}) while waiting for ${what}:\n${this.dump()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Log lines of every worker with the worker's name, oldest first per worker. */
  logs(filter: (line: LogLine) => boolean = () => true): (LogLine & { by: string })[] {
    return this.workers.flatMap((w) => w.lines.filter(filter).map((l) => ({ ...l, by: w.name })));
  }

  /** For one run: shard → the workers that logged "shard featurized" for it (length > 1 = done twice). */
  featurizedBy(runId: string): Map<number, string[]> {
    const done = new Map<number, string[]>();
    for (const l of this.logs((l) => l.runId === runId && l.msg === 'shard featurized')) done.set(l.shard!, [...(done.get(l.shard!) ?? []), l.by]);
    return done;
  }

  /** SIGTERM to every live worker; resolves with their exit results. */
  async stop(): Promise<CliResult[]> {
    const alive = this.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    alive.forEach((w) => w.child.kill('SIGTERM'));
    return Promise.all(alive.map((w) => w.exited));
  }

  dump(): string {
    return this.workers.map((w) => `--- ${w.name}\n${w.lines.map((l) => JSON.stringify(l)).join('\n')}`).join('\n');
  }
}
