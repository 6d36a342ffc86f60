import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { runCli } from '../support/cli.js';
import { tinyModelBytes } from '../support/tiny-model.js';
import { syntheticRun, type SyntheticRun } from './support/runs.js';

let synthetic: SyntheticRun;

before(async () => {
  synthetic = await syntheticRun('fruits-app-cli-');
});

describe('fruits identify / evaluate / serve on a synthetic run (tiny model)', () => {
  test('identify --json: the right class, the API answer shape', async () => {
    const photo = join(synthetic.images, 'Class C 1', '3_100.jpg');
    const result = await runCli(['identify', photo, '--run', synthetic.run, '--model', synthetic.model, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout);
    assert.equal(answer.predictions[0].class, 'Class C 1');
    assert.equal(answer.notSure, false);
    assert.equal(answer.file, photo);
  });

  test('identify: a photo unlike every reference is "not sure" (here with --max-ood 1.2); a text file fails alone, exit 1', async () => {
    // The references are colour blobs on white; a dark picture with a grey stripe is nothing like them. This tiny
    // run is too small for the default limit to be meaningful, so the test sets one between the two photos.
    const dark = await sharp({ create: { width: 160, height: 120, channels: 3, background: '#101014' } })
      .composite([
        {
          input: await sharp({ create: { width: 160, height: 20, channels: 3, background: '#777777' } })
            .png()
            .toBuffer(),
          top: 50,
          left: 0,
        },
      ])
      .png()
      .toBuffer();
    writeFileSync(join(synthetic.dir, 'dark.png'), dark);
    writeFileSync(join(synthetic.dir, 'notes.jpg'), 'not a photo');
    const good = join(synthetic.images, 'Class A 1', '0_100.jpg');
    const result = await runCli([
      'identify',
      join(synthetic.dir, 'dark.png'),
      join(synthetic.dir, 'notes.jpg'),
      good,
      '--run',
      synthetic.run,
      '--model',
      synthetic.model,
      '--max-ood',
      '1.2',
      '--json',
    ]);
    assert.equal(result.code, 1);
    const [unlike, text, right] = JSON.parse(result.stdout);
    assert.equal(unlike.notSure, true, JSON.stringify(unlike.ood));
    assert.ok(unlike.reasons.includes('unlike-references'));
    assert.match(text.error, /cannot read the photo: text, not an image/);
    assert.equal(right.predictions[0].class, 'Class A 1');
    assert.equal(right.notSure, false, JSON.stringify(right.ood));
  });

  test('identify with 2,000 photos on the command line answers every one (onnxruntime telemetry used to segfault on a long command line)', async () => {
    const folder = join(synthetic.dir, 'many-photos-with-a-long-folder-name');
    mkdirSync(folder, { recursive: true });
    const jpeg = readFileSync(join(synthetic.images, 'Class B 1', '1_100.jpg'));
    const photos = Array.from({ length: 2000 }, (_, i) => join(folder, `photo-${String(i).padStart(4, '0')}.jpg`));
    for (const photo of photos) writeFileSync(photo, jpeg);
    const result = await runCli(['identify', ...photos, '--run', synthetic.run, '--model', synthetic.model, '--json'], {
      env: { ORT_DISABLE_TELEMETRY: undefined },
    });
    assert.equal(result.signal, null, `killed by ${result.signal}`);
    assert.equal(result.code, 0, result.stderr);
    const answers = JSON.parse(result.stdout) as { file: string; predictions: { class: string }[] }[];
    assert.equal(answers.length, 2000);
    assert.deepEqual(
      answers.map((a) => a.file),
      photos,
    );
    assert.ok(answers.every((a) => a.predictions[0].class === 'Class B 1'));
  });

  test("identify refuses a model that is not the run's, saying which one the run needs", async () => {
    const other = join(synthetic.dir, 'other-tiny.onnx');
    writeFileSync(other, tinyModelBytes(8));
    const result = await runCli(['identify', join(synthetic.images, 'Class A 1', '0_100.jpg'), '--run', synthetic.run, '--model', other]);
    assert.equal(result.code, 4, 'the model exit code');
    assert.match(
      result.stderr,
      /RunModelMismatchError: model .*other-tiny\.onnx .* is not the model run \S+ was extracted with \(tiny\.onnx, sha256 [0-9a-f]{16}…\)/,
    );
  });

  test('identify on a folder that holds no run says how to make one', async () => {
    const result = await runCli(['identify', join(synthetic.images, 'Class A 1', '0_100.jpg'), '--run', synthetic.images, '--model', synthetic.model]);
    assert.equal(result.code, 3, 'the input-not-found exit code');
    assert.match(result.stderr, /holds no fruits run .*fruits extract/);
  });

  test("identify without --model or FRUITS_MODEL_DIR finds the run's model at the path its manifest recorded", async () => {
    const photo = join(synthetic.images, 'Class C 1', '3_100.jpg');
    const result = await runCli(['identify', photo, '--run', synthetic.run, '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).predictions[0].class, 'Class C 1');
  });

  test('identify with no model configured on a folder that holds no run says so, not "no model found"', async () => {
    const result = await runCli(['identify', join(synthetic.images, 'Class A 1', '0_100.jpg'), '--run', synthetic.images]);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /holds no fruits run/);
  });

  test('evaluate --json: k-fold accuracy of both methods in both spaces', async () => {
    const result = await runCli(['evaluate', '--run', synthetic.run, '--folds', '4', '--no-photos', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.crossValidation.rows, 32);
    assert.deepEqual(
      report.crossValidation.results.map((r: { space: string }) => r.space),
      ['pca', 'full'],
    );
    for (const r of report.crossValidation.results) assert.ok(r.knn.top1 >= 0.9 && r.probe.top1 >= 0.9, JSON.stringify(r));
    assert.equal(report.photos, undefined);
  });

  test('serve from source: listens, answers /healthz and the page, stops on SIGTERM with exit 0', async () => {
    let child: ChildProcess | undefined;
    let stderr = '';
    const listening = new Promise<string>((resolve) => {
      const done = runCli(['serve', '--run', synthetic.run, '--model', synthetic.model, '--port', '0', '--host', '127.0.0.1', '--threads', '1'], {
        onSpawn: (c) => {
          child = c;
          c.stderr!.on('data', (d) => {
            stderr += d;
            const url = /fruit app on (http:\/\/\S+)/.exec(stderr)?.[1];
            if (url) resolve(url);
          });
        },
      });
      void done.then(() => resolve(''));
    });
    const exited = new Promise<number | null>((resolve) => {
      const wait = () => (child ? child.once('close', resolve) : setTimeout(wait, 10));
      wait();
    });
    const url = await listening;
    assert.ok(url, stderr);
    const health = await (await fetch(`${url}/healthz`)).json();
    assert.equal((health as { status: string }).status, 'ok');
    assert.match(await (await fetch(`${url}/`)).text(), /Quel est ce fruit/);
    child!.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /GET \/healthz 200/);
  });

  test('--help explains every option; a missing --run is a usage error (exit 2)', async () => {
    for (const command of ['serve', 'identify', 'evaluate']) {
      const help = await runCli([command, '--help']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /--run PATH\|URI/);
    }
    const serve = await runCli(['serve']);
    assert.equal(serve.code, 2);
    assert.match(serve.stderr, /--run <run folder> is required/);
    const top = await runCli(['--help']);
    assert.match(top.stdout, /serve\s+the fruit app/);
  });
});
