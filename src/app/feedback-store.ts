import type { Storage } from '../storage/storage.js';
import { HttpError } from './errors.js';
import { formatBytes } from './upload.js';

/** Where a stored correction lives: `<stem>.jpg` and `<stem>.json` under the run's storage. */
export interface StoredFeedback {
  id: string;
  stem: string;
}

interface Index {
  /** Original-photo sha256 → the correction that already holds that photo. */
  bySha256: Map<string, StoredFeedback>;
  bytes: number;
}

/**
 * The bounds of `<run>/feedback/`: one copy per photo (by the sha256 of the uploaded bytes) and a total size
 * cap, so a client that loops on POST /api/feedback cannot fill the disk. The index is read from the folder on
 * first use (records hold the original's sha256), then kept in memory: this process is the folder's only writer.
 */
export class FeedbackStore {
  private index?: Promise<Index>;

  constructor(
    private readonly storage: Storage,
    /** Total bytes the folder may hold; a correction that would pass it is refused with 507. */
    readonly maxBytes: number,
  ) {}

  /** The correction that already stores this photo, if any. */
  async find(sha256: string): Promise<StoredFeedback | undefined> {
    return (await this.load()).bySha256.get(sha256);
  }

  /**
   * Stores one correction (photo first, record last: a record always points at a photo that exists), or throws
   * 507 when the folder is full. Claims the sha256 before writing, so a duplicate sent meanwhile is recognised.
   */
  async add(sha256: string, entry: StoredFeedback, photo: Uint8Array, record: string): Promise<void> {
    const index = await this.load();
    const bytes = photo.length + Buffer.byteLength(record);
    if (index.bytes + bytes > this.maxBytes) {
      throw new HttpError(
        507,
        'feedback-full',
        `the feedback folder is full (${formatBytes(index.bytes)} of ${formatBytes(this.maxBytes)}, --feedback-max-mb): ` +
          `corrections are not stored until it is emptied`,
      );
    }
    index.bySha256.set(sha256, entry);
    index.bytes += bytes;
    try {
      await this.storage.write(`${entry.stem}.jpg`, photo);
      await this.storage.write(`${entry.stem}.json`, record);
    } catch (error) {
      index.bySha256.delete(sha256);
      index.bytes -= bytes;
      throw error;
    }
  }

  private load(): Promise<Index> {
    this.index ??= readIndex(this.storage).catch((error) => {
      this.index = undefined;
      throw error;
    });
    return this.index;
  }
}

async function readIndex(storage: Storage): Promise<Index> {
  const index: Index = { bySha256: new Map(), bytes: 0 };
  const records: string[] = [];
  for await (const entry of storage.list('feedback/')) {
    index.bytes += entry.size;
    if (entry.key.endsWith('.json')) records.push(entry.key);
  }
  for (const key of records) {
    try {
      const record = JSON.parse((await storage.read(key)).toString()) as { id?: string; photo?: { original?: { sha256?: string } } };
      const sha256 = record.photo?.original?.sha256;
      if (sha256 && record.id) index.bySha256.set(sha256, { id: record.id, stem: key.slice(0, -'.json'.length) });
    } catch {
      // A record someone edited by hand or truncated still counts towards the size; it just cannot dedupe.
    }
  }
  return index;
}
