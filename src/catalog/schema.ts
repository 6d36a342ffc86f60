/**
 * The shapes of fruits.json and classes.json as zod schemas, and the catalog's types inferred from them. Each
 * message names its field, because validate.ts lists every problem of both files at once (see CatalogError).
 * Rules that compare entries with each other or with the other file (species ids, duplicate classes) are in
 * validate.ts.
 *
 * @module
 */

import { z } from 'zod';

export const FRUIT_KINDS = ['fruit', 'vegetable', 'nut'] as const;

/** Culinary kind, not botanical: tomatoes and cucumbers are vegetables, walnuts and coconuts nuts. */
export type FruitKind = z.infer<typeof fruitKind>;

/** A schema's own message for a missing (`undefined`) or wrong-typed value; other issues keep theirs. */
function typeError(missing: string, wrong = missing): z.core.$ZodErrorMap {
  return (issue) => (issue.code === 'invalid_type' ? (issue.input === undefined ? missing : wrong) : undefined);
}

/** A non-empty string (blank counts as empty: the app would show nothing). */
function requiredText(field: string, shape = 'non-empty string') {
  return z
    .string({ error: typeError(`missing required field '${field}' (${shape})`, `'${field}' must be a ${shape}`) })
    .regex(/\S/, { error: `missing required field '${field}' (${shape})` });
}

function optionalText(field: string) {
  const message = `'${field}' must be a non-empty string when present`;
  return z.string({ error: message }).regex(/\S/, { error: message }).optional();
}

function localizedText(field: string) {
  return z
    .strictObject(
      { en: requiredText(`${field}.en`), fr: requiredText(`${field}.fr`) },
      { error: typeError(`missing required field '${field}' ({ en, fr })`, `'${field}' must be an object { en, fr }`) },
    )
    .readonly();
}

const fruitKind = z.enum(FRUIT_KINDS, {
  error: (issue) => `'kind' must be one of ${FRUIT_KINDS.join(', ')}, got ${JSON.stringify(issue.input)}`,
});

const notAMonth = (issue: { input?: unknown }): string => `seasonEurope month ${JSON.stringify(issue.input)} is not an integer from 1 to 12`;
// One refinement rather than z.int().min(1).max(12): one problem per bad month, and z.int's failure aborts the
// entry, which would skip the entry's `when` checks (zod 4.6).
const month = z.number({ error: notAMonth }).refine((m) => Number.isInteger(m) && m >= 1 && m <= 12, { error: notAMonth });

const seasonEurope = z
  .array(month, { error: `'seasonEurope' must be an array of months (use [] when unknown or all year)` })
  .superRefine((months, ctx) => {
    months.forEach((m, i) => {
      if (months.indexOf(m) < i) ctx.addIssue({ code: 'custom', path: [i], message: `seasonEurope month ${m} is listed twice` });
    });
  })
  .readonly();

/** An amount per 100 g: absent when unknown (never 0 for unknown), finite and non-negative when present. */
function amount(field: string) {
  return z
    .number({ error: `nutritionPer100g.${field} must be a number (omit it when unknown)` })
    .min(0, { error: (issue) => `nutritionPer100g.${field} is negative (${String(issue.input)})` })
    .optional();
}

/** Gram fields cannot exceed the 100 g they are measured in; energy and vitamin C are other units. */
function grams(field: string) {
  const more = (issue: { input?: unknown }): string => `nutritionPer100g.${field} is ${String(issue.input)} g, more than the 100 g it is measured in`;
  return amount(field).unwrap().max(100, { error: more }).optional();
}

const nutritionShape = {
  energyKcal: amount('energyKcal'),
  waterG: grams('waterG'),
  carbohydrateG: grams('carbohydrateG'),
  sugarsG: grams('sugarsG'),
  fiberG: grams('fiberG'),
  proteinG: grams('proteinG'),
  fatG: grams('fatG'),
  vitaminCMg: amount('vitaminCMg'),
};

const nutritionPer100g = z
  .strictObject(nutritionShape, {
    error: typeError(`'nutritionPer100g' must be an object ({} when no value is known)`),
  })
  .superRefine(({ sugarsG, carbohydrateG }, ctx) => {
    if (sugarsG !== undefined && carbohydrateG !== undefined && sugarsG > carbohydrateG) {
      const message = `nutritionPer100g.sugarsG (${sugarsG}) exceeds carbohydrateG (${carbohydrateG})`;
      ctx.addIssue({ code: 'custom', path: ['sugarsG'], message });
    }
  })
  .readonly();

/**
 * Typical values for 100 g of the raw food (USDA FoodData Central, SR Legacy, rounded). A field is absent
 * when no trustworthy value was at hand: the app must show "unknown", never 0.
 */
export type NutritionPer100g = z.infer<typeof nutritionPer100g>;

export const NUTRITION_FIELDS = Object.keys(nutritionShape) as readonly (keyof NutritionPer100g)[];

/**
 * For a `when` check: runs on an object even if other fields are wrong (so that one run lists every problem), but
 * not if the fields it reads are. Issues raised by the object itself (unknown keys) have no path yet.
 */
function shapeOk(payload: z.core.ParsePayload, fields: readonly string[]): boolean {
  const { value, issues } = payload;
  return typeof value === 'object' && value !== null && !issues.some((issue) => fields.includes(String(issue.path?.[0])));
}

/** One entry of fruits.json, keyed by its `id`. */
export const fruitInfo = z
  .strictObject(
    {
      /** Stable kebab-case English id; other code and stored data refer to species by it. */
      id: z.string({ error: typeError(`missing required field 'id' (the entry's key)`, `'id' must be the entry's key`) }),
      names: localizedText('names'),
      /** Binomial where one applies; "Genus spp." or a hybrid formula where the dataset cannot be pinned down. */
      scientificName: requiredText('scientificName'),
      family: requiredText('family'),
      kind: fruitKind,
      origin: optionalText('origin'),
      originFr: optionalText('originFr'),
      /** Months (1–12) of the main European season; empty when imported or sold all year (see `notes`). */
      seasonEurope,
      nutritionPer100g,
      biodiversity: localizedText('biodiversity').optional(),
      /** Editorial notes in English: sources, assumptions, why a field is empty. */
      notes: optionalText('notes'),
    },
    { error: typeError('entry must be an object') },
  )
  .refine((info) => (info.origin === undefined) === (info.originFr === undefined), {
    error: `'origin' and 'originFr' must be given together`,
    when: (payload) => shapeOk(payload, ['origin', 'originFr']),
  })
  .readonly();

export type LocalizedText = z.infer<ReturnType<typeof localizedText>>;

/** One species (or, for some hybrids and groups, the taxon named in `scientificName`). */
export type FruitInfo = z.infer<typeof fruitInfo>;

/** One row of classes.json: a Fruits-360 class folder and the species it shows. */
export const classRow = z
  .strictObject(
    {
      class: requiredText('class'),
      species: requiredText('species'),
      /** Variety, cultivar or presentation as the dataset names it; absent when it gives only a number. */
      variety: optionalText('variety'),
      varietyFr: optionalText('varietyFr'),
      /** Why the mapping is what it is, where it needed judgement. */
      note: optionalText('note'),
    },
    { error: typeError('row must be an object') },
  )
  .refine((row) => row.varietyFr === undefined || row.variety !== undefined, {
    error: `'varietyFr' without 'variety'`,
    when: (payload) => shapeOk(payload, ['variety', 'varietyFr']),
  })
  .readonly();

export type ClassRow = z.infer<typeof classRow>;

/** What one Fruits-360 class folder shows: its classes.json row with the species resolved. */
export type ClassInfo = Readonly<{ className: string; species: FruitInfo } & Omit<ClassRow, 'class' | 'species'>>;

/** fruits.json: species by id. */
export const fruitsFile = z.record(z.string(), fruitInfo, {
  error: typeError('must be an object keyed by species id'),
});

/** classes.json: one row per class folder, in the dataset's folder order. */
export const classesFile = z.array(classRow, {
  error: typeError('must be an array of { class, species, variety? }'),
});
