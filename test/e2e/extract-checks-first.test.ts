import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../support/cli.js';
import { writeImageFolder } from '../support/synthetic-images.js';
import { writeTinyModel } from '../support/tiny-model.js';
import { manifestFixture } from '../support/run-fixtures.js';

// No model configured anywhere (runCli: empty FRUITS_MODEL*, a fresh cache, an unreachable weights server): every
// one of these used to say "no model found" instead of what is wrong with the paths.
describe('extract checks its input and output before it looks for a model', () => {
  const root = mkdtempSync(join(tmpdir(), 'fruits-checks-first-'));

  // The exit code is the documented one for each (README "Exit codes"): 3 input not found, 5 output conflict;
  // all of them exited 1 before, like any other failure.
  const cases: [string, () => Promise<[string, string]>, RegExp, number][] = [
    ['a wrong input path', async () => [join(root, 'no-such-folder'), join(root, 'out-1')], /input .*no-such-folder does not exist/, 3],
    [
      'an empty input folder',
      async () => {
        mkdirSync(join(root, 'empty'));
        return [join(root, 'empty'), join(root, 'out-2')];
      },
      /input .*empty is empty/,
      3,
    ],
    [
      'an input with no images',
      async () => {
        mkdirSync(join(root, 'texts', 'a'), { recursive: true });
        writeFileSync(join(root, 'texts', 'a', 'notes.txt'), 'x');
        return [join(root, 'texts'), join(root, 'out-3')];
      },
      /holds 1 files but none matches/,
      3,
    ],
    [
      'an output that holds a finished run',
      async () => {
        await writeImageFolder(join(root, 'images'), { classes: 1, perClass: 1, size: 16 });
        mkdirSync(join(root, 'finished'));
        writeFileSync(join(root, 'finished', 'manifest.json'), JSON.stringify(manifestFixture({ runId: 'r-1', input: 'somewhere' })));
        writeFileSync(join(root, 'finished', '_SUCCESS'), '');
        return [join(root, 'images'), join(root, 'finished')];
      },
      /already holds a finished run \(r-1, input somewhere\)/,
      5,
    ],
    [
      // Still the output conflict (fruits wrote _SUCCESS there), with why the manifest does not read back.
      'an output that holds a finished run whose manifest is damaged',
      async () => {
        mkdirSync(join(root, 'damaged'));
        writeFileSync(join(root, 'damaged', 'manifest.json'), JSON.stringify({ runId: 'r-1', input: 'somewhere' }));
        writeFileSync(join(root, 'damaged', '_SUCCESS'), '');
        return [join(root, 'images'), join(root, 'damaged')];
      },
      /holds a finished run \(_SUCCESS\) whose \S+manifest\.json is not a fruits manifest: format: .*Use --overwrite/,
      5,
    ],
    [
      'an output that holds other files',
      async () => {
        mkdirSync(join(root, 'busy'));
        writeFileSync(join(root, 'busy', 'thesis.docx'), 'x');
        return [join(root, 'images'), join(root, 'busy')];
      },
      /is not empty and is not a fruits run \(it holds thesis\.docx/,
      5,
    ],
  ];
  for (const [name, make, expected, exit] of cases) {
    test(`${name}: says so, exit ${exit}, not "no model found"`, async () => {
      const [input, output] = await make();
      const result = await runCli(['extract', input, output, '--quiet']);
      assert.equal(result.code, exit, result.stderr);
      assert.match(result.stderr, expected);
      assert.doesNotMatch(result.stderr, /model/i);
    });
  }
});

describe('usage errors exit 2 with one line', () => {
  for (const [args, expected] of [
    [['--batch-size', '-1'], /--batch-size needs a value; one that starts with "-" is written --batch-size=-…/],
    [['--batch-size=-1'], /--batch-size must be a whole number ≥ 1, not "-1"/],
    [['--no-such-flag'], /unknown option --no-such-flag/],
  ] as [string[], RegExp][]) {
    test(`extract ${args.join(' ')}`, async () => {
      const result = await runCli(['extract', 'in', 'out', ...args]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, expected);
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
      assert.doesNotMatch(result.stderr, /TypeError/);
    });
  }
});

test('--pca-k above the feature dimensions is refused (exit 2) before anything is written', async () => {
  const root = mkdtempSync(join(tmpdir(), 'fruits-pca-k-'));
  const model = writeTinyModel(join(root, 'tiny.onnx'));
  await writeImageFolder(join(root, 'images'), { classes: 3, perClass: 5, size: 16 });
  const result = await runCli(['extract', join(root, 'images'), join(root, 'out'), '--model', model, '--pca-k', '5000', '--quiet']);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /--pca-k 5000 is more than the model's 1280 feature dimensions: give at most 1280/);
  assert.equal(existsSync(join(root, 'out')), false);
});
