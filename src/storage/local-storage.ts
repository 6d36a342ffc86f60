import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { StorageError } from './errors.js';
import type { Storage, StorageEntry } from './storage.js';

/** A folder on this machine. Writes go to a temporary sibling first and are renamed into place. */
export class LocalStorage implements Storage {
  readonly root: string;

  constructor(readonly uri: string) {
    this.root = resolve(uri);
  }

  async *list(prefix = ''): AsyncIterable<StorageEntry> {
    const start = this.path(prefix);
    let info;
    try {
      info = await stat(start);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      throw new StorageError(`cannot read ${start}: ${(error as Error).message}`, { code, cause: error });
    }
    if (!info.isDirectory()) {
      if (prefix) yield { key: prefix, size: info.size };
      else throw new StorageError(`${start} is a file, not a folder`);
      return;
    }
    yield* this.walk(start);
  }

  private async *walk(dir: string): AsyncIterable<StorageEntry> {
    const entries = await readdir(dir, { withFileTypes: true });
    const files = entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => join(dir, e.name));
    // Stat a folder's files together: one at a time, listing 23,619 files took 1.4 s.
    // An entry we may not stat still exists: list it, and let the reader report why it cannot be read.
    for (let start = 0; start < files.length; start += 256) {
      const chunk = files.slice(start, start + 256);
      const sizes = await Promise.all(
        chunk.map((f) =>
          stat(f).then(
            (s) => s.size,
            () => 0,
          ),
        ),
      );
      for (let i = 0; i < chunk.length; i++) yield { key: this.keyOf(chunk[i]), size: sizes[i] };
    }
    for (const entry of entries) if (entry.isDirectory()) yield* this.walk(join(dir, entry.name));
  }

  async listLevel(prefix = ''): Promise<{ files: StorageEntry[]; folders: string[] }> {
    const dir = this.path(prefix);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { files: [], folders: [] };
      if (code === 'ENOTDIR') return { files: prefix ? [{ key: prefix, size: (await stat(dir)).size }] : [], folders: [] };
      throw new StorageError(`cannot read ${dir}: ${(error as Error).message}`, { code, cause: error });
    }
    const base = prefix === '' ? '' : prefix.endsWith('/') ? prefix : `${prefix}/`;
    const names = entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name);
    const sizes = await Promise.all(
      names.map((n) =>
        stat(join(dir, n)).then(
          (s) => s.size,
          () => 0,
        ),
      ),
    );
    return {
      files: names.map((n, i) => ({ key: base + n, size: sizes[i] })),
      folders: entries.filter((e) => e.isDirectory()).map((e) => `${base}${e.name}/`),
    };
  }

  async read(key: string): Promise<Buffer> {
    return readFile(this.path(key));
  }

  async readRange(key: string, start: number, end: number): Promise<Buffer> {
    const file = await open(this.path(key), 'r');
    try {
      const buffer = Buffer.allocUnsafe(Math.max(0, end - start));
      let filled = 0;
      while (filled < buffer.length) {
        const { bytesRead } = await file.read(buffer, filled, buffer.length - filled, start + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled === buffer.length ? buffer : buffer.subarray(0, filled);
    } finally {
      await file.close();
    }
  }

  async write(key: string, data: Uint8Array | string): Promise<void> {
    const target = this.path(key);
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(temp, data);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => {});
      throw await describeWriteError(error, target);
    }
  }

  async exists(key: string): Promise<boolean> {
    return access(this.path(key), constants.F_OK).then(
      () => true,
      () => false,
    );
  }

  async delete(key: string): Promise<void> {
    await unlink(this.path(key)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.path(prefix), { recursive: true, force: true });
  }

  private path(key: string): string {
    const full = resolve(this.root, key);
    if (full !== this.root && !full.startsWith(this.root + sep)) {
      throw new StorageError(`key ${JSON.stringify(key)} escapes the storage root ${this.root}`);
    }
    return full;
  }

  private keyOf(full: string): string {
    return full
      .slice(this.root.length + 1)
      .split(sep)
      .join('/');
  }
}

const WRITE_REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied: the folder is read-only for this user',
  EPERM: 'operation not permitted: the folder is read-only for this user',
};

/**
 * A write failure that names the file and says why in words ("no space left on the device"), keeping the errno
 * code. mkdir on a read-only mount can report ENOENT; then the nearest existing folder says whether it is writable.
 */
export async function describeWriteError(error: unknown, target: string): Promise<Error> {
  const e = error as NodeJS.ErrnoException;
  let reason = e.code ? WRITE_REASONS[e.code] : undefined;
  if (!reason && e.code === 'ENOENT') {
    let folder = dirname(target);
    while (
      dirname(folder) !== folder &&
      !(await access(folder).then(
        () => true,
        () => false,
      ))
    )
      folder = dirname(folder);
    const writable = await access(folder, constants.W_OK).then(
      () => true,
      () => false,
    );
    if (!writable) reason = `${folder} is read-only (cannot create folders in it)`;
  }
  if (!reason) return error as Error;
  return new StorageError(`cannot write ${target}: ${reason} (${e.code})`, { code: e.code, cause: error });
}
