import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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

/** The README's test command: the line of its first bash block that runs `npm test`. */
function readmeTestCommand(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /```bash\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const line = block.split('\n').find((l) => /\bnpm test\b/.test(l) && !l.trim().startsWith('#'));
  assert.ok(line, "no npm test command in the README's first bash block");
  return line.trim();
}

describe("the README's test command", () => {
  test('.ci/run runs exactly that command', () => {
    const ci = readFileSync(join(REPO_ROOT, '.ci/run'), 'utf8');
    assert.ok(
      ci.split('\n').some((l) => l.trim() === readmeTestCommand()),
      `.ci/run does not run ${readmeTestCommand()} verbatim`,
    );
  });

  test('it points the real-asset tests at ../shared, so they run (not skip) when the assets are beside the clone', async () => {
    const command = readmeTestCommand();
    const env: Record<string, string> = {};
    for (const [, name, value] of command.matchAll(/\b(FRUITS_(?:MODEL|DATA)_DIR)=(\S+)/g)) env[name] = value;
    assert.equal(env.FRUITS_MODEL_DIR, '../shared/models', command);
    assert.equal(env.FRUITS_DATA_DIR, '../shared/data', command);
    if (!existsSync(resolve(REPO_ROOT, '../shared/models'))) return;
    // What a test file sees under that environment, from the repository root as npm runs it.
    const probe = "import('./test/support/assets.ts').then((m) => console.log(JSON.stringify(m.realAssets() ?? null)))";
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '-e', probe], { cwd: REPO_ROOT, env: { ...process.env, ...env, CI: '' } });
    const assets = JSON.parse(stdout) as { modelDir: string; dataDir: string } | null;
    assert.ok(assets, 'realAssets() found nothing: the real-asset tests would be skipped');
    assert.equal(assets.modelDir, resolve(REPO_ROOT, '../shared/models'), 'an absolute path, valid whatever folder a test runs a child in');
  });
});
