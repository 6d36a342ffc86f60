import { pino, type Logger } from 'pino';
import { redactSecrets } from './connection.js';

/**
 * Where a process's machine-readable lines go (pino JSON logs, CloudWatch EMF metric lines): one stream, one
 * complete line per write, every line passed through redactSecrets so no Redis password is ever printed.
 * process.stdout/stderr write synchronously to files and pipes on Linux, so lines from pino and from the
 * metrics never interleave.
 */
export class LogSink {
  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {}

  write(line: string): void {
    this.stream.write(redactSecrets(line.endsWith('\n') ? line : `${line}\n`));
  }

  /** A pino logger writing JSON lines here; `base` fields (role, host, pid) are on every line. */
  logger(base: Record<string, unknown>, level = process.env.FRUITS_LOG_LEVEL || 'info'): Logger {
    return pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, { write: (chunk: string) => this.write(chunk) });
  }
}
