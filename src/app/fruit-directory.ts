import { Catalog, type FruitInfo, type LocalizedText } from '../catalog/catalog.js';

/**
 * What the app needs from fruit information: the catalog (src/catalog) for every class it knows, and for a
 * class it does not know (a run made on other images) a label derived from the class name, so an answer is
 * never nameless.
 */
export type Names = LocalizedText;

/** The fruit card of an answer: the species' catalog entry plus the variety of the predicted class. */
export type FruitCard = FruitInfo & { variety?: LocalizedText };

export interface ClassFruit {
  className: string;
  /** What to call the class: species and variety when the catalog knows it, else the folder name cleaned up. */
  label: Names;
  fruit?: FruitInfo;
  variety?: LocalizedText;
}

export interface FruitDirectory {
  forClass(className: string): ClassFruit;
  species(id: string): FruitInfo | undefined;
  allSpecies(): FruitInfo[];
}

/** "Apple Braeburn 1" → "Apple Braeburn": Fruits-360 folder names end in a video number. */
export function labelFromClassName(className: string): string {
  return className.replace(/\s+\d+$/, '').trim() || className;
}

function capitalise(text: string): string {
  return text.charAt(0).toLocaleUpperCase('fr') + text.slice(1);
}

/** A directory over the catalog; `catalog` undefined gives labels from class names and no cards. */
export function fruitDirectory(catalog?: Catalog): FruitDirectory {
  return {
    forClass: (className) => {
      const info = catalog?.forClass(className);
      if (!info) {
        const label = labelFromClassName(className);
        return { className, label: { en: label, fr: label } };
      }
      const { species } = info;
      const variety = info.variety ? { en: info.variety, fr: info.varietyFr ?? info.variety } : undefined;
      const label = {
        en: capitalise(species.names.en) + (variety ? ` (${variety.en})` : ''),
        fr: capitalise(species.names.fr) + (variety ? ` (${variety.fr})` : ''),
      };
      return { className, label, fruit: species, variety };
    },
    species: (id) => catalog?.species(id),
    allSpecies: () => catalog?.allSpecies() ?? [],
  };
}

let shared: FruitDirectory | undefined;

/**
 * The directory the app and the CLI use: the shipped catalog, validated on first use. A catalog that fails
 * validation is a bug in the shipped data and stops the command (CatalogError lists every problem).
 */
export async function openFruitDirectory(): Promise<FruitDirectory> {
  shared ??= fruitDirectory(Catalog.load());
  return shared;
}
