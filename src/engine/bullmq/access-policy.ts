import { resolve, sep } from 'node:path';
import { isS3Uri } from '../../storage/open-storage.js';
import { AccessDeniedError } from './job-errors.js';

/**
 * The storage roots a worker accepts (`fruits worker --allow PREFIX`, repeatable). Anyone who can write to the
 * queue can send a job; with prefixes set, such a job cannot make the worker read or write outside them — the
 * output root named by the job and the input root named by the plan must both lie under an allowed prefix.
 * Keys inside a root come from the plan and the storage adapters refuse keys that escape their root.
 */
export class AccessPolicy {
  private readonly prefixes: string[];

  constructor(prefixes: string[] = []) {
    this.prefixes = prefixes.map(normalise);
  }

  get unrestricted(): boolean {
    return this.prefixes.length === 0;
  }

  get allowed(): readonly string[] {
    return this.prefixes;
  }

  /** Throws AccessDeniedError (never retried) when `uri` is outside every allowed prefix. */
  check(uri: string, role: 'input' | 'output'): void {
    if (this.unrestricted) return;
    if (isS3Uri(uri) && uri.split('/').some((part) => part === '..' || part === '.')) {
      throw new AccessDeniedError(`${role} ${uri} has a '.' or '..' segment`);
    }
    const target = normalise(uri);
    const inside = this.prefixes.some((prefix) => target === prefix || target.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`));
    if (!inside) throw new AccessDeniedError(`${role} ${uri} is outside the prefixes this worker accepts (--allow ${this.prefixes.join(', ')})`);
  }
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
