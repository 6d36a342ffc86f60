import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalStorage } from '../storage/local-storage.js';
import { RunFileError } from './errors.js';
import type { FeaturizeResult } from './featurize-marker.js';
import { layout } from './layout.js';
import type { Plan } from './plan.js';
import { readManifest, readMarker, readPlan, writeManifest, writeMarker, writePlan } from './run-files.js';
import { manifestFixture, planFixture } from '../../test/support/run-fixtures.js';

const storage = () => new LocalStorage(mkdtempSync(join(tmpdir(), 'fruits-run-files-')));
const plan = planFixture();
const manifest = manifestFixture();
const sha = 'a'.repeat(64);
const timings = { decode: 1, inputWait: 0, inference: 2, moments: 0, write: 1 };
const marker: FeaturizeResult = { shard: 1, images: 1, errors: 0, timings, parts: { features: { rows: 1, bytes: 100, sha256: sha } } };

test('plan, marker and manifest read back as written, with keys a newer fruits added kept', async () => {
  const out = storage();
  await writePlan(out, { ...plan, addedLater: 'kept' } as Plan);
  await writeMarker(out, marker);
  await writeManifest(out, manifest);
  assert.deepEqual(await readPlan(out), { ...plan, addedLater: 'kept' });
  assert.deepEqual(await readMarker(out, 1), marker);
  assert.deepEqual(await readManifest(out), manifest);
  assert.match((await out.read(layout.manifest)).toString(), /^\{\n {2}"format": "fruits-run\/1",\n[^]*\}\n$/, 'the manifest stays pretty-printed');
});

test('a run file cut short or of the wrong shape: RunFileError naming the file and the field, its cause kept', async () => {
  const out = storage();
  await out.write(layout.plan, JSON.stringify(plan).slice(0, 60));
  await assert.rejects(readPlan(out), (error: unknown) => {
    assert.ok(error instanceof RunFileError);
    assert.equal(error.code, 'FRUITS_RUN_FILE_INVALID');
    assert.equal(error.key, layout.plan);
    assert.match(error.message, /_tmp\/plan\.json is not JSON/);
    assert.ok(error.cause instanceof SyntaxError);
    return true;
  });

  const { counts: _, ...noCounts } = manifest;
  await out.write(layout.manifest, JSON.stringify({ ...noCounts, pca: { ...manifest.pca, k: 'two' } }));
  await assert.rejects(readManifest(out), /manifest\.json is not a fruits manifest: .*counts: .*pca\.k: /);

  // Shard i must be index i: part names come from the index, so a wrong one would write one shard's part twice.
  await writePlan(out, { ...plan, shards: [plan.shards[0], { ...plan.shards[1], index: 5 }] });
  await assert.rejects(readPlan(out), /shards\.1\.index: must be 1/);
  await writePlan(out, { ...plan, shards: [{ ...plan.shards[0], labels: ['Apple'] }, plan.shards[1]] });
  await assert.rejects(readPlan(out), /keys, labels and sizes must be as long/);
});

test('a marker is refused under another shard’s name, and a missing one is ENOENT (not featurized)', async () => {
  const out = storage();
  await out.write(layout.featurized(2), JSON.stringify(marker));
  await assert.rejects(readMarker(out, 2), /marker of shard 1, not of shard 2/);
  await assert.rejects(readMarker(out, 3), { code: 'ENOENT' });
});
