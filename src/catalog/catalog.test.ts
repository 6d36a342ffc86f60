import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Catalog, CatalogError } from './catalog.js';
import { DATASET_CLASSES } from './dataset-classes.js';

const catalog = Catalog.load();

/** The shipped data, parsed fresh, for tests that break one field on purpose. */
function shippedData(): { fruits: Record<string, Record<string, unknown>>; classes: Record<string, unknown>[] } {
  return {
    fruits: JSON.parse(readFileSync(new URL('./fruits.json', import.meta.url), 'utf8')),
    classes: JSON.parse(readFileSync(new URL('./classes.json', import.meta.url), 'utf8')),
  };
}

function problemsOf(fruits: unknown, classes: unknown): readonly string[] {
  try {
    Catalog.fromData(fruits, classes);
  } catch (error) {
    assert.ok(error instanceof CatalogError, `expected CatalogError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected the catalog to be rejected');
}

test('the shipped catalog loads and validates', () => {
  assert.ok(catalog.allSpecies().length >= 60);
  assert.equal(catalog.allClasses().length, 141);
});

test('every one of the 141 Fruits-360 classes has an entry', () => {
  assert.equal(DATASET_CLASSES.length, 141);
  const missing = DATASET_CLASSES.filter(({ name }) => catalog.forClass(name) === undefined).map((c) => c.name);
  assert.deepEqual(missing, []);
  const listed = new Set(DATASET_CLASSES.map((c) => c.name));
  const extra = catalog
    .allClasses()
    .filter((c) => !listed.has(c.className))
    .map((c) => c.className);
  assert.deepEqual(extra, [], 'classes.json rows that are not dataset classes');
});

const dataDir = process.env.FRUITS_DATA_DIR;
test('every class folder of $FRUITS_DATA_DIR/fruits-360-test has an entry', { skip: !dataDir && 'FRUITS_DATA_DIR not set' }, () => {
  const testSplit = join(dataDir!, 'fruits-360-test');
  assert.ok(existsSync(testSplit), `${testSplit} does not exist`);
  const folders = readdirSync(testSplit, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  assert.ok(folders.length > 0, `${testSplit} has no class folders`);
  const missing = folders.filter((name) => catalog.forClass(name)?.className !== name);
  assert.deepEqual(missing, [], 'class folders without a catalog entry');
});

test('older 131-class names and other casing resolve to the current class', () => {
  assert.equal(catalog.forClass('Apple Braeburn')?.className, 'Apple Braeburn 1');
  assert.equal(catalog.forClass('apple braeburn 1')?.className, 'Apple Braeburn 1');
  assert.equal(catalog.forClass('  PHYSALIS   with husk ')?.className, 'Physalis with Husk 1');
  assert.equal(catalog.forClass('Apple Golden 1')?.className, 'Apple Golden 1');
  for (const { name, name131 } of DATASET_CLASSES) {
    if (name131) assert.equal(catalog.forClass(name131)?.className, name, name131);
  }
  assert.equal(catalog.forClass('Durian 1'), undefined);
});

test('spot checks of facts', () => {
  assert.equal(catalog.species('banana')?.family, 'Musaceae');
  assert.equal(catalog.species('apple')?.scientificName, 'Malus domestica');
  assert.equal(catalog.species('strawberry')?.family, 'Rosaceae');
  assert.equal(catalog.species('tomato')?.family, 'Solanaceae');
  assert.equal(catalog.forClass('Apple Golden 2')?.variety, 'Golden Delicious');
  assert.equal(catalog.forClass('Tomato Cherry Red 1')?.species.id, 'tomato');
  assert.equal(catalog.forClass('Potato Sweet 1')?.species.scientificName, 'Ipomoea batatas');
  assert.equal(catalog.forClass('Kaki 1')?.species.names.fr, 'kaki');
  assert.equal(catalog.forClass('Nut Pecan 1')?.species.scientificName, 'Carya illinoinensis');
  assert.equal(catalog.forClass('Walnut 1')?.species.kind, 'nut');
  assert.equal(catalog.forClass('Carrot 1')?.species.kind, 'vegetable');
});

test('species data is complete where required and frozen', () => {
  for (const info of catalog.allSpecies()) {
    assert.ok(info.names.en && info.names.fr && info.scientificName && info.family, info.id);
  }
  const apple = catalog.species('apple')!;
  assert.ok(Object.isFrozen(apple) && Object.isFrozen(apple.names));
  assert.throws(() => {
    (apple.names as { en: string }).en = 'Pear';
  }, TypeError);
});

test('validation reports an unknown species id in classes.json', () => {
  const { fruits, classes } = shippedData();
  classes[0] = { class: 'Apple 6', species: 'appel' };
  const problems = problemsOf(fruits, classes);
  assert.ok(
    problems.some((p) => p.includes(`unknown species id 'appel'`)),
    problems.join('\n'),
  );
});

test('validation reports missing names, scientific name and family', () => {
  const { fruits, classes } = shippedData();
  fruits.apple.names = { en: 'Apple' };
  delete fruits.banana.scientificName;
  fruits.cherry.family = '';
  const problems = problemsOf(fruits, classes);
  assert.ok(
    problems.some((p) => p.includes(`'apple'`) && p.includes(`'names.fr'`)),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.includes(`'banana'`) && p.includes(`'scientificName'`)),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.includes(`'cherry'`) && p.includes(`'family'`)),
    problems.join('\n'),
  );
});

test('validation reports a duplicate class, ignoring case', () => {
  const { fruits, classes } = shippedData();
  classes.push({ class: 'apple braeburn 1', species: 'apple' });
  const problems = problemsOf(fruits, classes);
  assert.ok(
    problems.some((p) => p.includes('duplicate class')),
    problems.join('\n'),
  );
});

test('validation reports months outside 1–12 and negative nutrition values', () => {
  const { fruits, classes } = shippedData();
  fruits.apple.seasonEurope = [0, 9, 13];
  fruits.pear.nutritionPer100g = { energyKcal: -5 };
  const problems = problemsOf(fruits, classes);
  assert.ok(
    problems.some((p) => p.includes('month 0 ')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.includes('month 13 ')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.includes('energyKcal is negative')),
    problems.join('\n'),
  );
});

test('validation reports misspelt fields instead of dropping them', () => {
  const { fruits, classes } = shippedData();
  fruits.apple.scientificname = 'Malus domestica';
  fruits.pear.nutritionPer100g = { energyKcal: 57, vitaminC: 4.3 };
  const problems = problemsOf(fruits, classes);
  assert.ok(
    problems.some((p) => p.includes(`unknown field 'scientificname'`)),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.includes(`unknown field 'vitaminC'`)),
    problems.join('\n'),
  );
});

test('validation reports a dataset class without a row and a row that is no dataset class', () => {
  const { fruits, classes } = shippedData();
  const kiwi = classes.findIndex((row) => row.class === 'Kiwi 1');
  classes.splice(kiwi, 1);
  classes.push({ class: 'Durian 1', species: 'apple' });
  const problems = problemsOf(fruits, classes);
  assert.ok(
    problems.some((p) => p === `classes.json: no row for the Fruits-360 class 'Kiwi 1'`),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.includes(`('Durian 1'): not a Fruits-360 class folder`)),
    problems.join('\n'),
  );
});

test('validation names the field of a wrong type, and checks origin/originFr even when another field is wrong', () => {
  const { fruits, classes } = shippedData();
  fruits.apple.names = 'Apple';
  fruits.apple.kind = 'berry';
  fruits.apple.seasonEurope = [9, 9.5];
  delete fruits.apple.originFr;
  fruits.pear.seasonEurope = 'autumn';
  const problems = problemsOf(fruits, classes);
  const apple = problems.filter((p) => p.startsWith(`fruits.json species 'apple': `));
  assert.ok(
    apple.some((p) => p.includes(`'names'`)),
    problems.join('\n'),
  );
  assert.ok(
    apple.some((p) => p.includes(`'kind' must be one of fruit, vegetable, nut, got "berry"`)),
    problems.join('\n'),
  );
  assert.ok(
    apple.some((p) => p.includes('seasonEurope month 9.5 is not an integer from 1 to 12')),
    problems.join('\n'),
  );
  assert.ok(
    apple.some((p) => p.includes(`'origin' and 'originFr' must be given together`)),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.startsWith(`fruits.json species 'pear': 'seasonEurope' must be an array`)),
    problems.join('\n'),
  );
});
