import type { z } from 'zod';
import { DATASET_CLASSES } from './dataset-classes.js';
import { CatalogError } from './errors.js';
import { classesFile, fruitsFile, type ClassInfo, type FruitInfo } from './schema.js';

const SPECIES_ID = /^[a-z]+(-[a-z]+)*$/;
const DATASET_FOLDERS: ReadonlySet<string> = new Set(DATASET_CLASSES.map((c) => c.name));

/** Lookups ignore case and repeated spaces, so "apple  braeburn" finds "Apple Braeburn 1"'s alias too. */
export function classKey(name: string): string {
  return name.trim().replace(/\s+/g, ' ').toLowerCase();
}

export interface ValidCatalogData {
  readonly species: ReadonlyMap<string, FruitInfo>;
  readonly classes: readonly ClassInfo[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks the two JSON documents together (classes refer to species) and returns them typed. Every problem of
 * both is collected, then thrown as one CatalogError: the shapes through the zod schemas of schema.ts, the rules
 * across entries and files here. Unknown fields are problems too: a misspelt optional field would otherwise vanish
 * silently from the app.
 */
export function validateCatalogData(fruitsJson: unknown, classesJson: unknown): ValidCatalogData {
  const fruits = fruitsFile.safeParse(fruitsJson);
  const classes = classesFile.safeParse(classesJson);
  const problems = [
    ...(fruits.error?.issues.flatMap((issue) => describe(issue, fruitsWhere)) ?? []),
    ...speciesIdProblems(fruitsJson),
    ...(classes.error?.issues.flatMap((issue) => describe(issue, (path) => classesWhere(path, classesJson))) ?? []),
    ...classProblems(fruitsJson, classesJson),
  ];
  if (problems.length > 0 || !fruits.success || !classes.success) throw new CatalogError(problems);
  const species = new Map(Object.entries(fruits.data));
  return {
    species,
    classes: classes.data.map(({ class: className, species: id, ...rest }) => ({ className, species: species.get(id)!, ...rest })),
  };
}

/** Where in fruits.json: the document, or one species entry. */
function fruitsWhere(path: readonly PropertyKey[]): string {
  return path.length === 0 ? 'fruits.json' : `fruits.json species '${String(path[0])}'`;
}

/** Where in classes.json: the document, or one row, with its class name when it has one. */
function classesWhere(path: readonly PropertyKey[], classesJson: unknown): string {
  if (path.length === 0) return 'classes.json';
  const row = (classesJson as unknown[])[path[0] as number];
  const className = isObject(row) && typeof row.class === 'string' && row.class.trim() !== '' ? row.class : undefined;
  return className === undefined ? `classes.json row ${String(path[0])}` : `classes.json row ${String(path[0])} ('${className}')`;
}

/**
 * One zod issue as problems (`<where>: <what>`), naming the field. The schemas' own messages already name it; an
 * unknown-keys issue becomes one problem per key.
 */
function describe(issue: z.core.$ZodIssue, where: (path: readonly PropertyKey[]) => string): string[] {
  const place = where(issue.path);
  const field = issue.path.slice(1).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${place}: unknown field '${key}'${field ? ` in '${field}'` : ''}`);
  }
  return [`${place}: ${issue.message}`];
}

/** Species ids are the keys of fruits.json, kebab-case, repeated as each entry's `id`. */
function speciesIdProblems(fruitsJson: unknown): string[] {
  if (!isObject(fruitsJson)) return [];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(fruitsJson)) {
    const where = fruitsWhere([key]);
    if (!SPECIES_ID.test(key)) problems.push(`${where}: species id must be kebab-case lowercase English (e.g. "sweet-potato")`);
    if (isObject(value) && value.id !== key && value.id !== undefined) {
      problems.push(`${where}: 'id' is ${JSON.stringify(value.id)}, expected the key '${key}'`);
    }
  }
  return problems;
}

/**
 * Each class is listed once (ignoring case and spaces, as lookups do), is one of the 141 Fruits-360 folders under
 * its exact folder name, and names a species of fruits.json; and every one of the 141 has its row, so that an
 * identified class always has facts to show.
 */
function classProblems(fruitsJson: unknown, classesJson: unknown): string[] {
  if (!Array.isArray(classesJson)) return [];
  const species = isObject(fruitsJson) ? new Set(Object.keys(fruitsJson).filter((id) => isObject(fruitsJson[id]))) : new Set<string>();
  const problems: string[] = [];
  const seen = new Map<string, number>();
  classesJson.forEach((row: unknown, index) => {
    if (!isObject(row)) return;
    const where = classesWhere([index], classesJson);
    if (typeof row.class === 'string' && row.class.trim() !== '') {
      const first = seen.get(classKey(row.class));
      if (first !== undefined) problems.push(`${where}: duplicate class, already in row ${first}`);
      else seen.set(classKey(row.class), index);
    }
    if (typeof row.class === 'string' && row.class.trim() !== '' && !DATASET_FOLDERS.has(row.class)) {
      problems.push(`${where}: not a Fruits-360 class folder (dataset-classes.ts lists the ${DATASET_FOLDERS.size})`);
    }
    if (typeof row.species === 'string' && row.species.trim() !== '' && !species.has(row.species)) {
      problems.push(`${where}: unknown species id '${row.species}' (not in fruits.json)`);
    }
  });
  const listed = new Set(classesJson.map((row: unknown) => (isObject(row) ? row.class : undefined)));
  for (const name of DATASET_FOLDERS) if (!listed.has(name)) problems.push(`classes.json: no row for the Fruits-360 class '${name}'`);
  return problems;
}
