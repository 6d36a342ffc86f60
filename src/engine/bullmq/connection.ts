import { isIP } from 'node:net';
import type { RedisOptions } from 'bullmq';
import { RedisUrlError } from './errors.js';

/** The URL schemes of Redis: `redis://` plain TCP, `rediss://` TLS (ElastiCache in-transit encryption). */
const SCHEMES = new Set(['redis:', 'rediss:']);

/**
 * Where the queue lives, parsed once from `--redis` / FRUITS_REDIS_URL. Everything printed about it goes through
 * `redacted`, so a password given in the URL never reaches a log line, an error message or `fruits status`.
 */
export class RedisTarget {
  private constructor(
    readonly host: string,
    readonly port: number,
    readonly tls: boolean,
    readonly db: number,
    private readonly username: string | undefined,
    private readonly password: string | undefined,
  ) {}

  static parse(url: string): RedisTarget {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      // Not echoed: an unparseable value may be a bare password pasted in the wrong place.
      throw new RedisUrlError('not a Redis URL (expected redis://[:password@]host[:port][/db] or rediss://…)');
    }
    if (!SCHEMES.has(parsed.protocol)) {
      throw new RedisUrlError(`unsupported scheme ${parsed.protocol} in ${redactSecrets(url)}: use redis:// or rediss:// (TLS)`);
    }
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!host) throw new RedisUrlError(`no host in ${redactSecrets(url)}`);
    const port = parsed.port ? Number(parsed.port) : 6379;
    const path = parsed.pathname.replace(/^\//, '');
    const db = path === '' ? 0 : Number(path);
    if (!Number.isInteger(db) || db < 0) throw new RedisUrlError(`database "${path}" in ${redactSecrets(url)} is not a number`);
    return new RedisTarget(
      host,
      port,
      parsed.protocol === 'rediss:',
      db,
      parsed.username ? decodeURIComponent(parsed.username) : undefined,
      parsed.password ? decodeURIComponent(parsed.password) : undefined,
    );
  }

  /** `--redis` when given, else FRUITS_REDIS_URL; undefined when neither is set. */
  static fromOption(option: string | undefined, env: NodeJS.ProcessEnv = process.env): RedisTarget | undefined {
    const url = option ?? (env.FRUITS_REDIS_URL || undefined);
    return url === undefined ? undefined : RedisTarget.parse(url);
  }

  /** The URL with the password replaced by ***: `redis://:***@host:6379`. */
  get redacted(): string {
    const auth = this.password !== undefined ? `${this.username ?? ''}:***@` : this.username ? `${this.username}@` : '';
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `${this.tls ? 'rediss' : 'redis'}://${auth}${host}:${this.port}${this.db ? `/${this.db}` : ''}`;
  }

  toString(): string {
    return this.redacted;
  }

  /**
   * ioredis options for BullMQ. `maxRetriesPerRequest: null` (BullMQ requires it for workers): a command issued
   * while Redis is down waits for the reconnection instead of failing, so a Redis restart pauses the run rather
   * than failing jobs. Reconnection retries forever, every 2 s at most. `failFast` is for short-lived commands
   * (`fruits status`): one retry per command, so an unreachable Redis is reported instead of waited for.
   */
  options(purpose: { name?: string; failFast?: boolean } = {}): RedisOptions {
    return {
      host: this.host,
      port: this.port,
      db: this.db,
      username: this.username,
      password: this.password,
      // SNI takes host names only (RFC 6066): an IP address is sent without one.
      tls: this.tls ? (isIP(this.host) ? {} : { servername: this.host }) : undefined,
      connectionName: purpose.name,
      maxRetriesPerRequest: purpose.failFast ? 1 : null,
      enableOfflineQueue: true,
      connectTimeout: 10_000,
      retryStrategy: purpose.failFast ? (times: number) => (times > 3 ? null : 200 * times) : (times: number) => Math.min(100 * 2 ** times, 2000),
    };
  }
}

/** Replaces the password of every URL in a text (an error message, a log line) with ***: `redis://:***@host`. */
export function redactSecrets(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s]*@/gi, '$1:***@');
}
