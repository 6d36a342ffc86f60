import { readFileSync } from 'node:fs';

import { DATASET_CLASSES } from './dataset-classes.js';
import { CatalogError } from './errors.js';
import type { ClassInfo, FruitInfo } from './schema.js';
import { classKey, validateCatalogData } from './validate.js';

export { CatalogError } from './errors.js';
export type { ClassInfo, FruitInfo, FruitKind, LocalizedText, NutritionPer100g } from './schema.js';

/**
 * The JSON is read with fs next to this module rather than imported: JSON module imports still print an
 * ExperimentalWarning on Node 20. tsc copies every JSON file under src/ into the output folder (tsconfig
 * `include`), so the same relative URL works from src/ under tsx and from dist/ after a build.
 */
const FRUITS_FILE = new URL('./fruits.json', import.meta.url);
const CLASSES_FILE = new URL('./classes.json', import.meta.url);

function readJson(file: URL): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CatalogError([`cannot read ${file.pathname}: ${(error as Error).message}`], { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CatalogError([`${file.pathname} is not valid JSON: ${(error as Error).message}`], { cause: error });
  }
}

/** Deep-freezes so that one app-wide catalog cannot be altered by a caller that edits what it got back. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** Species facts and the Fruits-360 class → species mapping, validated on load. */
export class Catalog {
  private readonly classesByKey = new Map<string, ClassInfo>();

  private constructor(
    private readonly speciesById: ReadonlyMap<string, FruitInfo>,
    private readonly classes: readonly ClassInfo[],
  ) {
    for (const info of classes) this.classesByKey.set(classKey(info.className), info);
    // Older 131-class names ("Apple Braeburn") resolve to today's folders ("Apple Braeburn 1"); a current
    // name always wins over an alias.
    for (const { name, name131 } of DATASET_CLASSES) {
      const current = this.classesByKey.get(classKey(name));
      if (name131 && current && !this.classesByKey.has(classKey(name131))) {
        this.classesByKey.set(classKey(name131), current);
      }
    }
  }

  /** Reads and validates fruits.json and classes.json; throws CatalogError listing every problem. */
  static load(): Catalog {
    return Catalog.fromData(readJson(FRUITS_FILE), readJson(CLASSES_FILE));
  }

  /** Builds a catalog from already-parsed JSON documents (same shape as the files), validating them. */
  static fromData(fruitsJson: unknown, classesJson: unknown): Catalog {
    const { species, classes } = validateCatalogData(fruitsJson, classesJson);
    for (const info of species.values()) deepFreeze(info);
    for (const info of classes) deepFreeze(info);
    return new Catalog(species, Object.freeze([...classes]));
  }

  /** Case-insensitive; also accepts the class names of the classic 131-class dataset version. */
  forClass(className: string): ClassInfo | undefined {
    return this.classesByKey.get(classKey(className));
  }

  species(id: string): FruitInfo | undefined {
    return this.speciesById.get(id);
  }

  /** Sorted by id. */
  allSpecies(): FruitInfo[] {
    return [...this.speciesById.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** In the order of classes.json (the dataset's folder order). */
  allClasses(): ClassInfo[] {
    return [...this.classes];
  }
}
