import assert from 'node:assert/strict';
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { modelCommand } from '../../src/cli/commands/model.js';
import { realAssets, realTestOptions } from '../support/assets.js';
import { runCli, type CliResult } from '../support/cli.js';
import { tempDir } from '../support/model-helpers.js';
import { closedPort } from '../support/weights-server.js';

const tmp = (): string => tempDir('fruits-model-cli-');

/** `fruits model <args>` through the real CLI, with an empty model cache. */
function runModel(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(['model', ...args], { env: { XDG_CACHE_HOME: tmp(), ...env } });
}

describe('fruits model (CLI)', () => {
  test('usage errors exit 2; --help documents fetch, build and info', async () => {
    assert.equal((await runModel(['frobnicate'])).code, 2);
    const bogus = await runModel(['info', '--bogus']);
    assert.equal(bogus.code, 2);
    // parseArgs's own text ("Unknown option '--bogus'. To specify a positional argument…") rewritten to one line.
    assert.equal(bogus.stderr, 'fruits model: unknown option --bogus (see `fruits model --help`)\n');
    const build = await runModel(['build', '--out', 'x.onnx']);
    assert.equal(build.code, 2);
    assert.match(build.stderr, /--from/);
    for (const word of ['fetch [--force]', 'build --from', 'info [model.onnx]', 'FRUITS_WEIGHTS_BASE_URL', 'x/127.5-1', '--with-classifier']) {
      assert.ok(modelCommand.help.includes(word), word);
    }
  });

  test('fetch without network: exit 4 (no model) and one message naming the two ways out', async () => {
    const result = await runModel(['fetch', '--quiet'], { FRUITS_WEIGHTS_BASE_URL: `http://127.0.0.1:${await closedPort()}/` });
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /ModelNotFoundError: .*--model PATH.*connect to the internet and rerun/);
    assert.equal(result.stderr.trim().split('\n').length, 1);
  });

  test('info without any model: exit 4 and the way to get one', async () => {
    const result = await runModel(['info']);
    assert.equal(result.code, 4);
    assert.match(result.stderr, /fruits model fetch/);
  });

  test('build from the .npy folder, then info (text and JSON); a changed file is reported (real assets)', realTestOptions(), async () => {
    const assets = realAssets()!;
    const out = join(tmp(), 'mnv2.onnx');
    const build = await runModel(['build', '--from', join(assets.modelDir, 'mobilenet_v2_1.0_224_nhwc_weights'), '--out', out]);
    assert.equal(build.code, 0, build.stderr);
    assert.match(build.stdout, /sha256 +[0-9a-f]{64}/);
    assert.match(build.stdout, /reference: passed/);
    assert.match(build.stderr, /verify/);
    assert.ok(existsSync(`${out}.json`));

    const info = await runModel(['info', out, '--json']);
    assert.equal(info.code, 0, info.stderr);
    const report = JSON.parse(info.stdout);
    assert.equal(report.sidecar.matchesFile, true);
    assert.equal(report.sidecar.source.kind, 'npy-folder');
    assert.equal(report.verification.passed, true);
    assert.deepEqual(report.problems, []);

    const prebuilt = await runModel(['info'], { FRUITS_MODEL_DIR: assets.modelDir });
    assert.equal(prebuilt.code, 0, prebuilt.stderr);
    assert.match(prebuilt.stdout, /found via FRUITS_MODEL_DIR/);
    assert.match(prebuilt.stdout, /sha256 matches the pinned value/);
    assert.match(prebuilt.stdout, /reference: passed/);

    appendFileSync(out, 'junk');
    const changed = await runModel(['info', out]);
    assert.equal(changed.code, 1);
    assert.match(changed.stdout, /DOES NOT match its sidecar/);
    assert.match(changed.stdout, /status +PROBLEMS: sha256 differs/);
  });
});
