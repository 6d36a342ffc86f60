import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Identifier } from '../../src/classifier/identifier.js';
import { realTestOptions } from '../support/assets.js';
import { runCli } from '../support/cli.js';
import { sampleRun, unseenTestImage } from './support/runs.js';

describe('the real model on the Fruits-360 sample run (141 classes × 3 images)', realTestOptions(), () => {
  let run: string;
  let modelDir: string;
  let dataDir: string;
  let identifier: Identifier;

  before(async () => {
    ({ run, modelDir, dataDir } = await sampleRun());
    identifier = await Identifier.open({ run, model: modelDir, threads: 2 });
  });

  after(async () => {
    await identifier?.close();
  });

  test('unseen Test images of five classes: the right class top-1, with the probe and with kNN', async () => {
    for (const className of ['Banana 1', 'Strawberry 1', 'Cauliflower 1', 'Raspberry 1', 'Limes 1']) {
      const answer = await identifier.identify(readFileSync(unseenTestImage(dataDir, className)));
      assert.equal(answer.probe[0].className, className, JSON.stringify(answer.probe));
      assert.equal(answer.knn[0].className, className, JSON.stringify(answer.knn));
    }
  });

  test('a real phone photo of lady-finger bananas: a banana class in the top 5', async () => {
    for (const file of ['Bananas(lady_finger)1.jpg', 'Bananas(lady_finger)3.jpg']) {
      const answer = await identifier.identify(readFileSync(join(dataDir, 'real-photos', file)));
      assert.ok(
        answer.predictions.some((p) => p.className.startsWith('Banana')),
        `${file}: ${JSON.stringify(answer.predictions)}`,
      );
    }
  });

  test('fruits identify --json: the answer carries the catalog card (names FR/EN, scientific name, season, nutrition)', async () => {
    const photo = unseenTestImage(dataDir, 'Strawberry 1');
    const result = await runCli(['identify', photo, '--run', run, '--json'], { env: { FRUITS_MODEL_DIR: modelDir } });
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout);
    assert.equal(answer.predictions[0].class, 'Strawberry 1');
    assert.deepEqual(answer.predictions[0].label, { en: 'Strawberry', fr: 'Fraise' });
    assert.equal(answer.fruit.id, 'strawberry');
    assert.equal(answer.fruit.names.fr, 'fraise');
    assert.match(answer.fruit.scientificName, /Fragaria/);
    assert.ok(answer.fruit.seasonEurope.length > 0);
    assert.equal(typeof answer.fruit.nutritionPer100g.energyKcal, 'number');
    assert.ok(answer.fruit.biodiversity.fr);
  });

  test('fruits evaluate on the sample run with the 30 real photos: figures for both methods and spaces', async () => {
    const result = await runCli(['evaluate', '--run', run, '--folds', '3', '--threads', '2', '--json'], {
      env: { FRUITS_MODEL_DIR: modelDir, FRUITS_DATA_DIR: dataDir },
    });
    assert.equal(result.code, 0, result.stderr);
    const { crossValidation, photos } = JSON.parse(result.stdout);
    assert.equal(crossValidation.rows, 423);
    assert.equal(crossValidation.results.length, 2);
    // 2 training images per class: far from the full run's 99.9%, but well above chance (0.7%).
    for (const r of crossValidation.results) assert.ok(r.probe.top1 > 0.5 && r.knn.top1 > 0.5, JSON.stringify(r));
    assert.equal(photos.photos, 30);
    assert.equal(photos.errors, 0);
    assert.ok(photos.probe.top5 >= photos.probe.top1);
  });
});
