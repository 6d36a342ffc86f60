import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Manifest } from '../dataset/manifest.js';
import type { Plan } from '../dataset/plan.js';
import type { Engine } from '../engine/engine.js';
import { LocalStorage } from '../storage/local-storage.js';
import { runExtract, type ReadyExtract } from './extract.js';

/**
 * Exit 0 means a finished run (issue 10 item 2): an engine that returns without `_SUCCESS` in the output (a
 * coordinator interrupted, a worker fleet that stopped early) must not pass for one.
 */
test('runExtract: an engine that returns without _SUCCESS is an error naming --resume; with it, the manifest', async () => {
  const output = new LocalStorage(mkdtempSync(join(tmpdir(), 'fruits-api-')));
  const prepared = { output, plan: { spec: { runId: 'r-7' } } } as unknown as ReadyExtract;
  const manifest = { runId: 'r-7' } as unknown as Manifest;
  const stopsEarly: Engine = { name: 'stops-early', run: async (_plan: Plan) => manifest };
  await assert.rejects(runExtract(prepared, stopsEarly), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'FRUITS_RUN_INCOMPLETE');
    assert.match(e.message, /run r-7 ended without _SUCCESS in .*resume it with --resume/);
    return true;
  });
  const finishes: Engine = {
    name: 'finishes',
    run: async () => {
      await output.write('_SUCCESS', '');
      return manifest;
    },
  };
  assert.equal(await runExtract(prepared, finishes), manifest);
});
