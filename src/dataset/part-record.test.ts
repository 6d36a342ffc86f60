import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalStorage } from '../storage/local-storage.js';
import { checkPart, DamagedPartError, readPart, recordOf } from './part-record.js';
import { encodeResults } from './schemas.js';

const storage = new LocalStorage(mkdtempSync(join(tmpdir(), 'fruits-part-')));
const part = encodeResults(
  ['a/1.jpg', 'a/2.jpg', 'b/3.jpg'],
  ['a', 'a', 'b'],
  Float32Array.from({ length: 6 }, (_, i) => i),
  2,
);
const record = recordOf(part, 3);

test('checkPart: a sound part gives its record; missing, cut short, other rows and other bytes are each named', async () => {
  await storage.write('results/part-00000.parquet', part);
  assert.deepEqual(await checkPart(storage, 'results/part-00000.parquet', record), { key: 'results/part-00000.parquet', record });
  assert.deepEqual(await checkPart(storage, 'results/part-00009.parquet', record), { key: 'results/part-00009.parquet', problem: 'missing' });

  await storage.write('results/part-00001.parquet', part.subarray(0, part.length - 10));
  const cut = await checkPart(storage, 'results/part-00001.parquet', record);
  assert.deepEqual(cut, { key: 'results/part-00001.parquet', problem: `cut short: ${part.length - 10} bytes, ${part.length} were written` });
  // Without a recorded size (older markers) the footer says it: parquet-wasm's "Corrupt footer".
  const footer = await checkPart(storage, 'results/part-00001.parquet', { rows: 3 });
  assert.match((footer as { problem: string }).problem, /^not a readable Parquet file \(.*footer/i);

  assert.match(((await checkPart(storage, 'results/part-00000.parquet', { rows: 4 })) as { problem: string }).problem, /^holds 3 rows, 4 were written$/);

  const flipped = Uint8Array.from(part);
  flipped[60] ^= 0xff;
  await storage.write('results/part-00002.parquet', flipped);
  assert.match(((await checkPart(storage, 'results/part-00002.parquet', record)) as { problem: string }).problem, /^altered: its sha256 is [0-9a-f]{12}…/);
});

test('readPart names the file that does not read back, instead of a bare "Corrupt footer"', async () => {
  await storage.write('features/part-00003.parquet', part.subarray(0, 100));
  await assert.rejects(readPart(storage, 'features/part-00003.parquet'), (error: Error) => {
    assert.ok(error instanceof DamagedPartError);
    assert.match(error.message, /fruits-part-\w+\/features\/part-00003\.parquet: not a readable Parquet file \(.*\); fruits extract --resume redoes it/);
    return true;
  });
  assert.equal((await readPart(storage, 'results/part-00000.parquet', ['path'])).numRows, 3);
});
