import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { LocalStorage } from '../storage/local-storage.js';
import { writeImageFolder } from '../../test/support/synthetic-images.js';
import { InputImages } from './input-images.js';
import { packImages } from './pack.js';

const work = mkdtempSync(join(tmpdir(), 'fruits-input-images-'));
const folder = join(work, 'images');
const original = (path: string) => readFileSync(join(folder, ...path.split('/')));

before(async () => {
  await writeImageFolder(folder, { classes: 2, perClass: 3, size: 24 });
  for (const format of ['tar', 'parquet'] as const)
    await packImages(new LocalStorage(folder), new LocalStorage(join(work, format)), { format, imagesPerFile: 4, rowGroupSize: 2 });
});

test('a file, a tar member and a table row read back by the path the run recorded, byte for byte', async () => {
  const path = 'Class B 1/2_24.jpg';
  const files = new InputImages(new LocalStorage(folder));
  assert.deepEqual(await files.read(path), original(path));
  // fruits pack put 4 images per tar: the 6th in key order is in the second tar.
  const tars = new InputImages(new LocalStorage(join(work, 'tar')));
  assert.deepEqual(await tars.read(`images-00001.tar/${path}`), original(path));
  assert.deepEqual(await tars.read('images-00000.tar/Class A 1/0_24.jpg'), original('Class A 1/0_24.jpg'));
  // A table row by its path column (what the planner records when the table has one), and by number.
  const tables = new InputImages(new LocalStorage(join(work, 'parquet')));
  assert.deepEqual(await tables.read(path), original(path));
  assert.deepEqual(await tables.read('images-00000.parquet#0'), original('Class A 1/0_24.jpg'));
  await tables.close();
});

test('a path the input no longer holds is ENOENT, like a missing file', async () => {
  const tars = new InputImages(new LocalStorage(join(work, 'tar')));
  await assert.rejects(tars.read('images-00000.tar/Class A 1/nope.jpg'), { code: 'ENOENT', message: /no member Class A 1\/nope\.jpg in images-00000\.tar/ });
  await assert.rejects(new InputImages(new LocalStorage(join(work, 'parquet'))).read('Class A 1/nope.jpg'), { code: 'ENOENT' });
  await assert.rejects(new InputImages(new LocalStorage(folder)).read('Class A 1/nope.jpg'), { code: 'ENOENT' });
});
