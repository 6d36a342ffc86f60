export type FruitKind = 'fruit' | 'vegetable' | 'nut';

export const FRUIT_KINDS: readonly FruitKind[] = ['fruit', 'vegetable', 'nut'];

export interface LocalizedText {
  readonly en: string;
  readonly fr: string;
}

/**
 * Typical values for 100 g of the raw food (USDA FoodData Central, SR Legacy, rounded). A field is absent
 * when no trustworthy value was at hand: the app must show "unknown", never 0.
 */
export interface NutritionPer100g {
  readonly energyKcal?: number;
  readonly waterG?: number;
  readonly carbohydrateG?: number;
  readonly sugarsG?: number;
  readonly fiberG?: number;
  readonly proteinG?: number;
  readonly fatG?: number;
  readonly vitaminCMg?: number;
}

export const NUTRITION_FIELDS = [
  'energyKcal',
  'waterG',
  'carbohydrateG',
  'sugarsG',
  'fiberG',
  'proteinG',
  'fatG',
  'vitaminCMg',
] as const satisfies readonly (keyof NutritionPer100g)[];

/** One species (or, for some hybrids and groups, the taxon named in `scientificName`). */
export interface FruitInfo {
  /** Stable kebab-case English id; other code and stored data refer to species by it. */
  readonly id: string;
  readonly names: LocalizedText;
  /** Binomial where one applies; "Genus spp." or a hybrid formula where the dataset cannot be pinned down. */
  readonly scientificName: string;
  readonly family: string;
  /** Culinary kind, not botanical: tomatoes and cucumbers are vegetables, walnuts and coconuts nuts. */
  readonly kind: FruitKind;
  readonly origin?: string;
  readonly originFr?: string;
  /** Months (1–12) of the main European season; empty when imported or sold all year (see `notes`). */
  readonly seasonEurope: readonly number[];
  readonly nutritionPer100g: NutritionPer100g;
  readonly biodiversity?: LocalizedText;
  /** Editorial notes in English: sources, assumptions, why a field is empty. */
  readonly notes?: string;
}

/** What one Fruits-360 class folder shows. */
export interface ClassInfo {
  readonly className: string;
  readonly species: FruitInfo;
  /** Variety, cultivar or presentation as the dataset names it; absent when it gives only a number. */
  readonly variety?: string;
  readonly varietyFr?: string;
  /** Why the mapping is what it is, where it needed judgement. */
  readonly note?: string;
}
