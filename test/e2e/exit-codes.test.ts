import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rmSync } from 'node:fs';
import { EXIT } from '../../src/cli/exit-codes.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { writeImageFolder } from '../support/synthetic-images.js';
import { writeTinyModel } from '../support/tiny-model.js';

/**
 * The exit codes the README's "Exit codes" table and `fruits --help` document, one case each through the real
 * CLI. Before the codes existed, every case below but the usage ones exited 1 like any other failure, and the
 * usage errors raised below the CLI (a storage URI, a --label-from regex) exited 1 as well.
 */
describe('exit codes', () => {
  const root = mkdtempSync(join(tmpdir(), 'fruits-exit-codes-'));
  const images = join(root, 'images');
  let model: string;
  before(async () => {
    await writeImageFolder(images, { classes: 2, perClass: 2, size: 16 });
    model = writeTinyModel(join(root, 'tiny.onnx'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const oneLine = (stderr: string) => assert.equal(stderr.trimEnd().split('\n').length, 1, stderr);

  test('the README table and `fruits --help` list the same codes, those the CLI uses', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const table = /## Exit codes\n([\s\S]*?)\n(?=#|$)/.exec(readme)?.[1] ?? '';
    const fromTable = [...table.matchAll(/^\| `(\d+)` \|/gm)].map((m) => Number(m[1]));
    const fromHelp = [...(help.stdout.split('Exit codes:\n')[1] ?? '').matchAll(/^ {2}(\d+) /gm)].map((m) => Number(m[1]));
    const used = [...new Set(Object.values(EXIT))].sort((a, b) => a - b);
    assert.deepEqual(fromTable, used, 'README');
    assert.deepEqual(fromHelp, used, 'fruits --help');
  });

  describe('2: bad usage, as one line', () => {
    for (const [args, expected] of [
      [['identify', 'x.jpg', '--bogus'], /^fruits identify: unknown option --bogus \(see `fruits identify --help`\)$/],
      [['train', '--run'], /^fruits train: --run needs a value/],
      [['extract', 'ftp://host/images', 'out'], /unsupported storage URI ftp:\/\/host\/images: use a local path or s3:\/\/bucket\/prefix/],
      [['extract', 'in', 'out', '--label-from', 'regex:('], /--label-from regex:\(: not a regular expression/],
      [['extract', 'in', 'out', '--s3-endpoint'], /--s3-endpoint needs a value/],
    ] as [string[], RegExp][]) {
      test(args.join(' '), async () => {
        const result = await runCli(args);
        assert.equal(result.code, EXIT.usage, result.stderr);
        assert.match(result.stderr.trimEnd(), expected);
        oneLine(result.stderr);
        assert.doesNotMatch(result.stderr, /TypeError|SyntaxError/);
      });
    }
  });

  test('3: the input does not exist, or the folder given to --run holds no run', async () => {
    const missing = await runCli(['extract', join(root, 'no-such-folder'), join(root, 'out-missing'), '--model', model, '--quiet']);
    assert.equal(missing.code, EXIT.inputNotFound, missing.stderr);
    assert.match(missing.stderr, /no-such-folder does not exist/);
    const noRun = await runCli(['identify', join(images, 'Class A 1', '0_100.jpg'), '--run', images, '--model', model]);
    assert.equal(noRun.code, EXIT.inputNotFound, noRun.stderr);
    assert.match(noRun.stderr, /holds no fruits run/);
  });

  test('3: an input of one image, too few to fit a PCA (found after featurizing it, in the engine)', async () => {
    const single = join(root, 'single');
    mkdirSync(join(single, 'Class A 1'), { recursive: true });
    const first = readdirSync(join(images, 'Class A 1'))[0];
    writeFileSync(join(single, 'Class A 1', 'only.jpg'), readFileSync(join(images, 'Class A 1', first)));
    const result = await runCli(['extract', single, join(root, 'out-single'), '--model', model, '--workers', '1', '--quiet']);
    assert.equal(result.code, EXIT.inputNotFound, result.stderr);
    assert.match(result.stderr, /TooFewImagesError: PCA needs at least 2 images with features, the run has 1/);
  });

  test('4: no model at the given path, none configured and none downloadable, or a file that is no model', async () => {
    const missing = await runCli(['extract', images, join(root, 'out-no-model'), '--model', join(root, 'missing.onnx'), '--quiet']);
    assert.equal(missing.code, EXIT.model, missing.stderr);
    assert.match(missing.stderr, /ModelNotFoundError: model not found: .*missing\.onnx/);
    // runCli: no FRUITS_MODEL*, an empty cache, an unreachable weights server.
    const none = await runCli(['extract', images, join(root, 'out-none'), '--quiet']);
    assert.equal(none.code, EXIT.model, none.stderr);
    assert.match(none.stderr, /ModelNotFoundError/);
    const corrupt = join(root, 'corrupt.onnx');
    writeFileSync(corrupt, 'not a model');
    const bad = await runCli(['extract', images, join(root, 'out-corrupt'), '--model', corrupt, '--quiet']);
    assert.equal(bad.code, EXIT.model, bad.stderr);
    assert.match(bad.stderr, /ModelContractError: cannot load .*corrupt\.onnx/);
    for (const out of ['out-no-model', 'out-none', 'out-corrupt']) assert.equal(existsSync(join(root, out)), false, `${out} untouched`);
  });

  test('5: the output holds files fruits did not write', async () => {
    mkdirSync(join(root, 'busy'));
    writeFileSync(join(root, 'busy', 'thesis.docx'), 'x');
    const result = await runCli(['extract', images, join(root, 'busy'), '--model', model, '--quiet']);
    assert.equal(result.code, EXIT.outputConflict, result.stderr);
    assert.match(result.stderr, /OutputConflictError: .* is not empty and is not a fruits run/);
  });

  test('FRUITS_DEBUG=1 prints the cause chain the one-line message leaves out', async () => {
    const corrupt = join(root, 'corrupt-debug.onnx');
    writeFileSync(corrupt, 'not a model');
    const result = await runCli(['extract', images, join(root, 'out-debug'), '--model', corrupt, '--quiet'], { env: { FRUITS_DEBUG: '1' } });
    assert.equal(result.code, EXIT.model, result.stderr);
    assert.match(result.stderr, /code: 'FRUITS_MODEL_CONTRACT'/);
    assert.match(result.stderr, /\[cause\]/, "onnxruntime's error, kept as the cause");
  });
});
