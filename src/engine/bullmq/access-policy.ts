import { resolve, sep } from 'node:path';
import { isS3Uri } from '../../storage/open-storage.js';
import { AccessDeniedError } from './errors.js';
import { InvalidOptionError } from '../../errors/fruits-error.js';

/** Where a worker's prefixes came from: said in its start line and in every refusal. */
export type AllowSource = '--allow' | 'FRUITS_ALLOW' | 'default';

/**
 * The storage roots a worker accepts. Anyone who can write to the queue can send a job; such a job cannot make the
 * worker read or write outside these prefixes — the output root named by the job and the input root named by the
 * plan must both lie under one of them. Keys inside a root come from the plan and the storage adapters refuse keys
 * that escape their root.
 *
 * There is no "anything" setting: the default is the worker's current directory (see {@link AccessPolicy.resolve});
 * `--allow /` accepts every local path, loudly.
 */
export class AccessPolicy {
  private readonly prefixes: string[];

  /** @param prefixes folders or s3://bucket/prefix URIs; at least one. */
  constructor(
    prefixes: string[],
    readonly source: AllowSource = '--allow',
  ) {
    if (prefixes.length === 0) throw new InvalidOptionError('a worker needs at least one allowed prefix (--allow PREFIX)');
    this.prefixes = prefixes.map(normalise);
  }

  /**
   * The prefixes of `fruits worker`: the `--allow` options if any, else `FRUITS_ALLOW` (comma-separated: a colon
   * cannot separate, it is part of `s3://`), else the current directory only.
   *
   * @example AccessPolicy.resolve([], 's3://runs-bucket,/data', '/home/me').allowed // ['s3://runs-bucket', '/data']
   */
  static resolve(options: string[] | undefined, env: string | undefined, cwd: string): AccessPolicy {
    if (options && options.length > 0) return new AccessPolicy(options, '--allow');
    const fromEnv = (env ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    if (fromEnv.length > 0) return new AccessPolicy(fromEnv, 'FRUITS_ALLOW');
    return new AccessPolicy([cwd], 'default');
  }

  get allowed(): readonly string[] {
    return this.prefixes;
  }

  /** True when every local path is accepted (`--allow /`): worth a warning at start. */
  get anyLocalPath(): boolean {
    return this.prefixes.includes('/');
  }

  /** One sentence for the worker's start line: what it accepts and how to change it. */
  describe(): string {
    const where = this.source === 'default' ? 'its current directory (the default)' : this.source;
    return `runs whose input and output lie under ${this.prefixes.join(', ')} (${where}; set with --allow PREFIX, repeatable, or FRUITS_ALLOW=PREFIX,PREFIX)`;
  }

  /** Throws AccessDeniedError (never retried) when `uri` is outside every allowed prefix. */
  check(uri: string, role: 'input' | 'output'): void {
    if (isS3Uri(uri) && uri.split('/').some((part) => part === '..' || part === '.')) {
      throw new AccessDeniedError(`${role} ${uri} has a '.' or '..' segment`);
    }
    const target = normalise(uri);
    const inside = this.prefixes.some((prefix) => target === prefix || target.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`));
    if (!inside) {
      const from = this.source === 'default' ? "the worker's current directory, the default" : this.source;
      throw new AccessDeniedError(
        `${role} ${uri} is outside the prefixes this worker accepts (${this.prefixes.join(', ')}: ${from}); ` +
          `to accept it, start the worker with --allow ${suggestion(target)} (or FRUITS_ALLOW=${suggestion(target)})`,
      );
    }
  }
}

/** The prefix to suggest: an s3 URI's bucket, a local path itself. */
function suggestion(target: string): string {
  const bucket = /^s3:\/\/[^/]+/.exec(target);
  return bucket ? bucket[0] : target;
}

/**
 * One spelling per location: s3 URIs as written (minus a trailing '/'), local paths absolute and resolved
 * (so `/data/runs/../etc` is `/etc`), with '/' separators.
 */
function normalise(uri: string): string {
  if (isS3Uri(uri)) return uri.replace(/\/+$/, '');
  const path = resolve(uri.replace(/^file:\/\//, ''));
  return sep === '/' ? path : path.split(sep).join('/');
}
