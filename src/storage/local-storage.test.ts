import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeWriteError, LocalStorage } from './local-storage.js';

test('a full disk names the file it could not write (ENOSPC), code kept', async () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const described = (await describeWriteError(enospc, '/out/features/part-00003.parquet')) as Error & { code?: string };
  assert.equal(described.message, 'cannot write /out/features/part-00003.parquet: no space left on the device (ENOSPC)');
  assert.equal(described.code, 'ENOSPC');
});

test('a read-only output says read-only and names the file', { skip: process.getuid?.() === 0 ? 'root writes anywhere' : false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fruits-ro-'));
  mkdirSync(join(dir, 'ro'));
  chmodSync(join(dir, 'ro'), 0o555);
  await assert.rejects(new LocalStorage(join(dir, 'ro', 'out')).write('manifest.json', '{}'), /cannot write .*manifest\.json: .*read-only/);
});
