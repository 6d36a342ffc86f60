/**
 * Loaded first by `npm test` (`--import`): the whole run writes its temporary files under one folder of its own,
 * removed when the run ends. The test runner's process makes it and sets TMPDIR, which every test file's process
 * and every CLI they start inherit (os.tmpdir() reads it), so the suite no longer leaves ~20 MB and ~500 folders in
 * /tmp per run (fruits-cache-*, fruits-app-feedback-*, …, counted on this machine).
 *
 * The folder of the shared sample run (test/app/support/runs.ts) stays in the system's temporary folder,
 * FRUITS_TEST_SYSTEM_TMPDIR, so that it is kept from one run to the next.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

if (isMainThread && !process.env.FRUITS_TEST_SYSTEM_TMPDIR) {
  const system = tmpdir();
  const root = mkdtempSync(join(system, 'fruits-test-'));
  // Writable by everyone, sticky, as /tmp is: as root, test/e2e/extract.test.ts runs the CLI as `nobody`.
  chmodSync(root, 0o1777);
  process.env.FRUITS_TEST_SYSTEM_TMPDIR = system;
  process.env.TMPDIR = root;
  process.on('exit', () => rmSync(root, { recursive: true, force: true }));
}
