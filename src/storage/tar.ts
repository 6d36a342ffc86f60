import type { Storage } from './storage.js';

/** A regular file inside a tar: its name as stored (pax or GNU long names applied) and where its bytes lie. */
export interface TarMember {
  name: string;
  /** Byte offset of the member's data (just after its header) in the tar. */
  offset: number;
  size: number;
  /** Set when the member's bytes cannot be read whole (the tar ends inside them). */
  problem?: string;
  /** The member's bytes, for small members the caller asked to keep (labels: key.cls, key.json). */
  data?: Buffer;
}

/** A tar whose headers stop making sense at `offset`: nothing after it can be located (tar has no sync marks). */
export interface TarDamage {
  offset: number;
  message: string;
}

export interface TarIndex {
  members: TarMember[];
  damage?: TarDamage;
}

const BLOCK = 512;

/**
 * Reads forward through one object in large ranges, so scanning headers costs one request per `size` bytes (not one
 * per member) and a member larger than a range is skipped without being read. Why not a plain stream: skipping is
 * what lets the planner index a tar of large images while reading a fraction of it.
 */
class RangeCursor {
  private start = 0;
  private block: Buffer = Buffer.alloc(0);

  constructor(
    private readonly storage: Storage,
    private readonly key: string,
    private readonly size: number,
  ) {}

  /** `length` bytes at `offset`, or fewer where the object ends. */
  async bytes(offset: number, length: number): Promise<Buffer> {
    if (offset >= this.start && offset + length <= this.start + this.block.length) {
      return this.block.subarray(offset - this.start, offset - this.start + length);
    }
    this.start = offset;
    this.block = await this.storage.readRange(this.key, offset, offset + Math.max(length, this.size));
    return this.block.subarray(0, length);
  }
}

function cString(buffer: Buffer, start: number, length: number): string {
  const field = buffer.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}

/** Octal (space/NUL terminated) or, with the high bit of the first byte set, GNU base-256. */
function tarNumber(buffer: Buffer, start: number, length: number): number {
  const field = buffer.subarray(start, start + length);
  if (field[0] & 0x80) {
    let value = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    return value;
  }
  const text = cString(buffer, start, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return Number.NaN;
  return parseInt(text, 8);
}

function checksumOk(header: Buffer): boolean {
  const stored = tarNumber(header, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return stored === sum;
}

/** pax records `"<len> <key>=<value>\n"`; only `path` and `size` change what we index. */
function parsePax(data: Buffer): { path?: string; size?: number } {
  const found: { path?: string; size?: number } = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number(data.subarray(at, space).toString('ascii'));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) {
      const key = record.slice(0, eq);
      const value = record.slice(eq + 1);
      if (key === 'path') found.path = value;
      if (key === 'size' && /^\d+$/.test(value)) found.size = Number(value);
    }
    at += length;
  }
  return found;
}

export interface ScanOptions {
  /** Bytes read per request while scanning (default 1 MiB). */
  rangeSize?: number;
  /** Members whose bytes to keep in `data` (e.g. labels), at most `keepMax` bytes each (default 64 KiB). */
  keep?: (name: string) => boolean;
  keepMax?: number;
}

/**
 * Indexes a tar (ustar, pax and GNU long names; the formats GNU tar, bsdtar, Python's tarfile and tar-stream write)
 * by reading its headers where they lie: regular files come back in archive order with the offset and size of
 * their bytes. A damaged header ends the index there (`damage`), a member cut short is returned with `problem`:
 * the caller records both and goes on. `fileSize` is the object's size as listed.
 */
export async function indexTar(storage: Storage, key: string, fileSize: number, options: ScanOptions = {}): Promise<TarIndex> {
  const cursor = new RangeCursor(storage, key, options.rangeSize ?? 1 << 20);
  const keepMax = options.keepMax ?? 64 * 1024;
  const members: TarMember[] = [];
  let offset = 0;
  let pax: { path?: string; size?: number } = {};
  let longName: string | undefined;
  while (offset + BLOCK <= fileSize) {
    const header = await cursor.bytes(offset, BLOCK);
    if (header.length < BLOCK) break;
    if (header.every((b) => b === 0)) return { members };
    if (!checksumOk(header)) {
      return { members, damage: { offset, message: `tar header at byte ${offset} is damaged (checksum mismatch): the rest of ${key} cannot be read` } };
    }
    const type = String.fromCharCode(header[156] || 0x30);
    const headerSize = tarNumber(header, 124, 12);
    if (!Number.isFinite(headerSize)) {
      return { members, damage: { offset, message: `tar header at byte ${offset} has a malformed size: the rest of ${key} cannot be read` } };
    }
    const size = type === 'x' || type === 'g' || type === 'L' || type === 'K' ? headerSize : (pax.size ?? headerSize);
    const dataOffset = offset + BLOCK;
    const next = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x' || type === 'L') {
      const data = await cursor.bytes(dataOffset, size);
      if (data.length < size) break;
      if (type === 'x') pax = { ...pax, ...parsePax(data) };
      else longName = cString(data, 0, data.length);
    } else if (type === '0' || type === '7') {
      const prefix = header.subarray(257, 262).toString('latin1') === 'ustar' ? cString(header, 345, 155) : '';
      const stored = cString(header, 0, 100);
      const name = (pax.path ?? longName ?? (prefix ? `${prefix}/${stored}` : stored)).replace(/^(\.\/)+/, '');
      const member: TarMember = { name, offset: dataOffset, size };
      if (dataOffset + size > fileSize) {
        member.problem = `tar member cut short: ${size} bytes announced at byte ${dataOffset}, the tar ends at byte ${fileSize}`;
      } else if (options.keep?.(name) && size <= keepMax) {
        member.data = Buffer.from(await cursor.bytes(dataOffset, size));
      }
      members.push(member);
      pax = {};
      longName = undefined;
    } else {
      // Folders, links, devices, global pax headers: nothing to read, and they end a pending long name.
      if (type !== 'g') {
        pax = {};
        longName = undefined;
      }
    }
    offset = next;
  }
  return { members };
}

/** One member's bytes as the index located them (a single range read). */
export function readTarMember(storage: Storage, key: string, member: Pick<TarMember, 'offset' | 'size'>): Promise<Buffer> {
  return storage.readRange(key, member.offset, member.offset + member.size);
}
