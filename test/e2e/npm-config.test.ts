import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../support/cli.js';

const run = promisify(execFile);

describe('npm configuration of the project', () => {
  test('npx fruits prints no npm warning (no unknown keys in the project .npmrc)', async () => {
    const { stdout, stderr } = await run('npm', ['exec', '--no', '--', 'fruits', '--version'], { cwd: REPO_ROOT });
    assert.match(stdout, /^\d+\.\d+\.\d+/);
    assert.doesNotMatch(stderr, /npm warn/i);
  });

  test("onnxruntime-node's install script (which downloads CUDA binaries on linux/x64) is denied, the others allowed", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
    assert.equal(pkg.allowScripts?.['onnxruntime-node'], false);
    for (const name of ['esbuild', 'msgpackr-extract', 'protobufjs']) assert.equal(pkg.allowScripts?.[name], true, name);
  });
});
