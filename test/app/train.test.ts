import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { decodeParquet, readStringColumn, readVectorColumn } from '../../src/dataset/parquet.js';
import { runCli, signalWhenExists } from '../support/cli.js';
import { syntheticRun, type SyntheticRun } from './support/runs.js';
import { rmSync } from 'node:fs';

// fruits train on a tiny synthetic run (tiny generated model): the augmentation stage, its resumability and
// determinism, and user corrections becoming references.
describe('fruits train', () => {
  let s: SyntheticRun;
  before(async () => {
    s = await syntheticRun('fruits-train-');
  });
  after(() => rmSync(s.dir, { recursive: true, force: true }));

  const train = (...extra: string[]) => runCli(['train', '--run', s.run, '--model', s.model, '--workers', '1', '--threads', '1', ...extra]);
  const parts = () =>
    readdirSync(join(s.run, 'augmented'))
      .filter((f) => f.endsWith('.parquet'))
      .sort();

  test('writes augmented parts (source, label, params, features), example scenes, the classifier and its report', async () => {
    const result = await train('--augment', '2');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(parts(), ['part-00000.parquet', 'part-00001.parquet']);
    let rows = 0;
    for (const part of parts()) {
      const table = decodeParquet(readFileSync(join(s.run, 'augmented', part)));
      const sources = readStringColumn(table, 'source');
      const labels = readStringColumn(table, 'label');
      rows += sources.length;
      assert.ok(
        labels.every((l, i) => sources[i].startsWith(`${l}/`)),
        'each scene keeps the label of its reference',
      );
      const params = readStringColumn(table, 'params').map((p) => JSON.parse(p) as { copies: unknown[]; jpegQuality: number });
      assert.ok(params.every((p) => p.copies.length >= 1 && p.jpegQuality >= 40));
      assert.equal(readVectorColumn(table, 'features').values.length, sources.length * readVectorColumn(table, 'features').dim);
    }
    assert.equal(rows, 32 * 2);
    assert.ok(readdirSync(join(s.run, 'augmented', 'examples')).length >= 20);
    const report = JSON.parse(readFileSync(join(s.run, 'classifier', 'report.json'), 'utf8'));
    assert.equal(report.augment.scenes, 64);
    assert.equal(report.augment.shardsReused, 0);
    assert.ok(existsSync(join(s.run, 'classifier', 'model.json')));
    assert.ok(report.threshold.curve.length > 0);
  });

  test('a rerun keeps the parts made with the same settings; the same seed gives the same scenes, another seed others', async () => {
    const first = parts().map((p) => readFileSync(join(s.run, 'augmented', p)));
    rmSync(join(s.run, 'augmented', 'part-00001.parquet'));
    const again = await train('--augment', '2');
    assert.equal(again.code, 0, again.stderr);
    const report = JSON.parse(readFileSync(join(s.run, 'classifier', 'report.json'), 'utf8'));
    assert.equal(report.augment.shardsReused, 1, 'only the missing part is made again');
    const redone = readFileSync(join(s.run, 'augmented', 'part-00001.parquet'));
    const features = (b: Buffer) => readVectorColumn(decodeParquet(b), 'features').values;
    assert.deepEqual(features(redone), features(first[1]), 'the same seed makes the same scenes');
    const other = await train('--augment', '2', '--seed', '2');
    assert.equal(other.code, 0, other.stderr);
    assert.notDeepEqual(features(readFileSync(join(s.run, 'augmented', 'part-00001.parquet'))), features(first[1]));
  });

  test('an interrupted train exits 130 and keeps the parts it finished: the next one does only the rest', async () => {
    rmSync(join(s.run, 'augmented'), { recursive: true, force: true });
    // 8 scenes per reference: a part takes seconds, so the signal lands while the second is being made.
    const stopped = await runCli(['train', '--run', s.run, '--model', s.model, '--workers', '1', '--threads', '1', '--augment', '8'], {
      onSpawn: signalWhenExists(join(s.run, 'augmented', '_done', 'part-00000.json'), 'SIGINT'),
    });
    assert.equal(stopped.code, 130, stopped.stderr);
    const again = await train('--augment', '8');
    assert.equal(again.code, 0, again.stderr);
    const report = JSON.parse(readFileSync(join(s.run, 'classifier', 'report.json'), 'utf8'));
    assert.equal(report.augment.shardsReused, 1, 'the part finished before the interrupt is kept');
  });

  test('corrections under feedback/ become references: photos the classifier got wrong are then recognised', async () => {
    // Photos unlike any class: magenta rings on grey. Whatever the classifier answers now, the correction
    // names another class; after training with the corrections the app answers that class.
    const photos: string[] = [];
    for (let i = 0; i < 3; i++) {
      const size = 180 + i * 20;
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="#777"/><circle cx="${size / 2}" cy="${size / 2}" r="${size / 3}" fill="none" stroke="#e0e" stroke-width="${12 + i * 4}"/></svg>`;
      const path = join(s.dir, `ring-${i}.jpg`);
      writeFileSync(path, await sharp(Buffer.from(svg)).jpeg().toBuffer());
      photos.push(path);
    }
    const identify = async (files: string[]) => {
      const r = await runCli(['identify', '--run', s.run, '--model', s.model, '--json', ...files]);
      assert.equal(r.code, 0, r.stderr);
      const parsed = JSON.parse(r.stdout);
      return (Array.isArray(parsed) ? parsed : [parsed]).map((a: { predictions: { class: string }[] }) => a.predictions[0].class);
    };
    const before = await identify(photos);
    const corrected = s.classes.find((c) => !before.includes(c))!;
    mkdirSync(join(s.run, 'feedback'), { recursive: true });
    photos.forEach((p, i) => {
      writeFileSync(join(s.run, 'feedback', `20261202T000000Z-ring${i}.jpg`), readFileSync(p));
      writeFileSync(join(s.run, 'feedback', `20261202T000000Z-ring${i}.json`), JSON.stringify({ id: `ring${i}`, correctClass: corrected }));
    });
    const result = await train('--augment', '2');
    assert.equal(result.code, 0, result.stderr);
    assert.ok(JSON.parse(readFileSync(join(s.run, 'classifier', 'report.json'), 'utf8')).rows.feedback > 0);
    assert.deepEqual(
      await identify(photos),
      photos.map(() => corrected),
    );
  });

  test('a run made from WebDataset tars (fruits pack) trains on the same references: none skipped (it was a TypeError)', async () => {
    // train reads the reference images again by the paths the run recorded: here `<tar>/<member>`.
    const tars = join(s.dir, 'tars');
    const packed = await runCli(['pack', s.images, tars, '--format', 'tar', '--images-per-file', '10']);
    assert.equal(packed.code, 0, packed.stderr);
    const run = join(s.dir, 'run-from-tars');
    const made = await runCli(['extract', tars, run, '--model', s.model, '--workers', '1', '--shard-size', '16', '--pca-k', '8', '--quiet']);
    assert.equal(made.code, 0, made.stderr);
    const result = await runCli(['train', '--run', run, '--model', s.model, '--workers', '1', '--threads', '1', '--augment', '2']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(readFileSync(join(run, 'classifier', 'report.json'), 'utf8'));
    assert.equal(report.augment.scenes, 32 * 2, 'every reference made its scenes, as from the folder');
    assert.ok(report.validation.scenes > 0, 'calibration read its scenes’ sources from the tars too');
  });

  test('bad usage exits 2 with one line', async () => {
    const r = await train('--augment', '-1');
    assert.equal(r.code, 2);
    const b = await train('--backgrounds', join(s.dir, 'nope'));
    assert.equal(b.code, 2);
    assert.match(b.stderr, /not a folder/);
  });
});
