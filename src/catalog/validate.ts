import { CatalogError } from './errors.js';
import {
  FRUIT_KINDS,
  NUTRITION_FIELDS,
  type ClassInfo,
  type FruitInfo,
  type FruitKind,
  type LocalizedText,
  type NutritionPer100g,
} from './types.js';

const SPECIES_ID = /^[a-z]+(-[a-z]+)*$/;
const SPECIES_FIELDS = new Set([
  'id',
  'names',
  'scientificName',
  'family',
  'kind',
  'origin',
  'originFr',
  'seasonEurope',
  'nutritionPer100g',
  'biodiversity',
  'notes',
]);
const CLASS_FIELDS = new Set(['class', 'species', 'variety', 'varietyFr', 'note']);
/** Gram fields cannot exceed the 100 g they are measured in; energy and vitamin C are other units. */
const GRAM_FIELDS = new Set<string>(['waterG', 'carbohydrateG', 'sugarsG', 'fiberG', 'proteinG', 'fatG']);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/** Lookups ignore case and repeated spaces, so "apple  braeburn" finds "Apple Braeburn 1"'s alias too. */
export function classKey(name: string): string {
  return name.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * Collects problems instead of throwing at the first one. Unknown fields are problems too: a misspelt
 * optional field would otherwise vanish silently from the app.
 */
class Problems {
  readonly list: string[] = [];
  add(where: string, what: string): void {
    this.list.push(`${where}: ${what}`);
  }
  unknownFields(where: string, value: Json, allowed: ReadonlySet<string>): void {
    for (const key of Object.keys(value)) if (!allowed.has(key)) this.add(where, `unknown field '${key}'`);
  }
  throwIfAny(): void {
    if (this.list.length > 0) throw new CatalogError(this.list);
  }
}

function requiredText(problems: Problems, where: string, value: Json, field: string): string {
  const text = value[field];
  if (!isText(text)) {
    problems.add(where, `missing required field '${field}' (non-empty string)`);
    return '';
  }
  return text;
}

function optionalText(problems: Problems, where: string, value: Json, field: string): string | undefined {
  const text = value[field];
  if (text === undefined) return undefined;
  if (!isText(text)) problems.add(where, `'${field}' must be a non-empty string when present`);
  return isText(text) ? text : undefined;
}

function localized(problems: Problems, where: string, value: unknown, field: string): LocalizedText {
  if (!isObject(value)) {
    problems.add(where, `missing required field '${field}' ({ en, fr })`);
    return { en: '', fr: '' };
  }
  problems.unknownFields(`${where} ${field}`, value, new Set(['en', 'fr']));
  const en = value.en;
  const fr = value.fr;
  if (!isText(en)) problems.add(where, `missing required field '${field}.en'`);
  if (!isText(fr)) problems.add(where, `missing required field '${field}.fr'`);
  return { en: isText(en) ? en : '', fr: isText(fr) ? fr : '' };
}

function season(problems: Problems, where: string, value: unknown): number[] {
  if (!Array.isArray(value)) {
    problems.add(where, `'seasonEurope' must be an array of months (use [] when unknown or all year)`);
    return [];
  }
  const months: number[] = [];
  for (const month of value as unknown[]) {
    if (typeof month !== 'number' || !Number.isInteger(month) || month < 1 || month > 12) {
      problems.add(where, `seasonEurope month ${JSON.stringify(month)} is not an integer from 1 to 12`);
    } else if (months.includes(month)) {
      problems.add(where, `seasonEurope month ${month} is listed twice`);
    } else {
      months.push(month);
    }
  }
  return months;
}

function nutrition(problems: Problems, where: string, value: unknown): NutritionPer100g {
  if (!isObject(value)) {
    problems.add(where, `'nutritionPer100g' must be an object ({} when no value is known)`);
    return {};
  }
  const known = new Set<string>(NUTRITION_FIELDS);
  problems.unknownFields(`${where} nutritionPer100g`, value, known);
  const result: Record<string, number> = {};
  for (const field of NUTRITION_FIELDS) {
    const amount = value[field];
    if (amount === undefined) continue;
    if (typeof amount !== 'number' || !Number.isFinite(amount)) {
      problems.add(where, `nutritionPer100g.${field} must be a number (omit it when unknown)`);
    } else if (amount < 0) {
      problems.add(where, `nutritionPer100g.${field} is negative (${amount})`);
    } else if (GRAM_FIELDS.has(field) && amount > 100) {
      problems.add(where, `nutritionPer100g.${field} is ${amount} g, more than the 100 g it is measured in`);
    } else {
      result[field] = amount;
    }
  }
  if (result.sugarsG !== undefined && result.carbohydrateG !== undefined && result.sugarsG > result.carbohydrateG) {
    problems.add(where, `nutritionPer100g.sugarsG (${result.sugarsG}) exceeds carbohydrateG (${result.carbohydrateG})`);
  }
  return result;
}

function fruit(problems: Problems, key: string, value: unknown): FruitInfo | undefined {
  const where = `fruits.json species '${key}'`;
  if (!SPECIES_ID.test(key)) problems.add(where, 'species id must be kebab-case lowercase English (e.g. "sweet-potato")');
  if (!isObject(value)) {
    problems.add(where, 'entry must be an object');
    return undefined;
  }
  problems.unknownFields(where, value, SPECIES_FIELDS);
  if (value.id !== key) problems.add(where, `'id' is ${JSON.stringify(value.id)}, expected the key '${key}'`);
  const kind = value.kind;
  if (!FRUIT_KINDS.includes(kind as FruitKind)) {
    problems.add(where, `'kind' must be one of ${FRUIT_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  }
  const origin = optionalText(problems, where, value, 'origin');
  const originFr = optionalText(problems, where, value, 'originFr');
  if ((origin === undefined) !== (originFr === undefined)) {
    problems.add(where, `'origin' and 'originFr' must be given together`);
  }
  const biodiversity =
    value.biodiversity === undefined ? undefined : localized(problems, where, value.biodiversity, 'biodiversity');
  const notes = optionalText(problems, where, value, 'notes');
  return {
    id: key,
    names: localized(problems, where, value.names, 'names'),
    scientificName: requiredText(problems, where, value, 'scientificName'),
    family: requiredText(problems, where, value, 'family'),
    kind: kind as FruitKind,
    ...(origin !== undefined && { origin }),
    ...(originFr !== undefined && { originFr }),
    seasonEurope: season(problems, where, value.seasonEurope),
    nutritionPer100g: nutrition(problems, where, value.nutritionPer100g),
    ...(biodiversity !== undefined && { biodiversity }),
    ...(notes !== undefined && { notes }),
  };
}

export interface ValidCatalogData {
  readonly species: ReadonlyMap<string, FruitInfo>;
  readonly classes: readonly ClassInfo[];
}

/** Checks the two JSON documents together (classes refer to species) and returns them typed. */
export function validateCatalogData(fruitsJson: unknown, classesJson: unknown): ValidCatalogData {
  const problems = new Problems();
  const species = new Map<string, FruitInfo>();
  if (!isObject(fruitsJson)) {
    problems.add('fruits.json', 'must be an object keyed by species id');
  } else {
    for (const [key, value] of Object.entries(fruitsJson)) {
      const info = fruit(problems, key, value);
      if (info) species.set(key, info);
    }
  }

  const classes: ClassInfo[] = [];
  if (!Array.isArray(classesJson)) {
    problems.add('classes.json', 'must be an array of { class, species, variety? }');
  } else {
    const seen = new Map<string, number>();
    classesJson.forEach((row: unknown, index) => {
      const where = `classes.json row ${index}`;
      if (!isObject(row)) {
        problems.add(where, 'row must be an object');
        return;
      }
      problems.unknownFields(where, row, CLASS_FIELDS);
      const className = requiredText(problems, where, row, 'class');
      const speciesId = requiredText(problems, where, row, 'species');
      const variety = optionalText(problems, where, row, 'variety');
      const varietyFr = optionalText(problems, where, row, 'varietyFr');
      const note = optionalText(problems, where, row, 'note');
      const label = className ? `${where} ('${className}')` : where;
      if (varietyFr !== undefined && variety === undefined) problems.add(label, `'varietyFr' without 'variety'`);
      if (className) {
        const first = seen.get(classKey(className));
        if (first !== undefined) problems.add(label, `duplicate class, already in row ${first}`);
        else seen.set(classKey(className), index);
      }
      const info = species.get(speciesId);
      if (speciesId && !info) problems.add(label, `unknown species id '${speciesId}' (not in fruits.json)`);
      if (!className || !info) return;
      classes.push({
        className,
        species: info,
        ...(variety !== undefined && { variety }),
        ...(varietyFr !== undefined && { varietyFr }),
        ...(note !== undefined && { note }),
      });
    });
  }
  problems.throwIfAny();
  return { species, classes };
}
