import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectWhenIdle } from './idle-gc.js';

test('after a busy spell, memory dropped during it is collected once the process is quiet', async () => {
  let busy = true;
  let collected = false;
  const registry = new FinalizationRegistry(() => (collected = true));
  const stop = collectWhenIdle(() => busy, 100);
  try {
    (() => {
      const upload = { bytes: new Uint8Array(1 << 20) };
      registry.register(upload, 'upload');
    })();
    await new Promise((r) => setTimeout(r, 1200));
    busy = false;
    const deadline = Date.now() + 4000;
    while (!collected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(collected, 'an idle process collected nothing within 4 s of the burst');
  } finally {
    stop();
  }
});
