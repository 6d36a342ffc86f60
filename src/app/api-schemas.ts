/**
 * The HTTP API's request and response shapes as zod schemas. The routes declare them (createRoute in
 * routes/*.ts) and /openapi.json is generated from those declarations (openapi.ts), so the document cannot
 * describe a route that does not exist or miss one that does. Each handler checks its answer against the
 * schema's type with `satisfies`, so a changed answer that the document does not describe fails the build.
 *
 * @module
 */
import { z } from '@hono/zod-openapi';
import { fruitInfo } from '../catalog/schema.js';

export const errorSchema = z
  .object({
    error: z.object({ code: z.string().openapi({ description: 'machine-readable reason (kebab-case); the page translates it' }), message: z.string() }),
  })
  .openapi('Error', { description: 'Every error of the API, those of the HTTP layer (400, 408, 431) included' });

export const namesSchema = z.object({ en: z.string(), fr: z.string() }).openapi('Names');

/**
 * A species from the catalog: its fruits.json entry (the catalog's own schema, so a new catalog field is
 * documented with it) plus the variety of the predicted class when there is one.
 */
export const fruitSchema = z
  .object({ ...fruitInfo.unwrap().shape, variety: namesSchema.optional() })
  .openapi('Fruit', { description: 'A species from the catalog; `variety` is the variety of the predicted class' });

export const classEntrySchema = z
  .object({ class: z.string(), fruitId: z.string().optional(), label: namesSchema })
  .openapi('ClassEntry', { description: 'A class the run can answer; fruitId when the catalog knows its species' });

const predictionSchema = z
  .object({ class: z.string(), label: namesSchema, fruitId: z.string().optional(), score: z.number().min(0).max(1) })
  .openapi('Prediction');

const scoredClass = z.object({ class: z.string(), score: z.number() });

export const answerSchema = z
  .object({
    runId: z.string(),
    predictions: z.array(predictionSchema).max(5),
    notSure: z.boolean().openapi({ description: 'True when the top score is low or the photo is unlike every reference image' }),
    reasons: z.array(z.enum(['low-score', 'unlike-references'])),
    method: z.enum(['probe', 'knn']),
    fruit: fruitSchema.nullable().openapi({ description: 'Card of the top prediction (also when not sure, as "maybe this"); null when unknown' }),
    knn: z.array(scoredClass),
    ood: z.object({ nearestSimilarity: z.number(), nearestRatio: z.number(), centroidRatio: z.number(), residualRatio: z.number(), score: z.number() }),
    image: z.object({ format: z.string(), width: z.int(), height: z.int(), bytes: z.int() }),
    classifier: z.enum(['scene', 'probe']).openapi({ description: "'scene': trained by fruits train for real photos, on several views of the photo" }),
    views: z.int().openapi({ description: 'views of the photo classified' }),
    region: z
      .object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() })
      .optional()
      .openapi({ description: 'the part of the photo that was recognised (fractions of its width and height), when not the whole photo' }),
    timings: z.object({ decodeMs: z.number(), waitMs: z.number(), inferenceMs: z.number(), batchSize: z.int(), totalMs: z.number() }),
  })
  .openapi('Answer');

const storedSchema = z.object({ photo: z.string(), record: z.string() });

export const feedbackStoredSchema = z.object({ id: z.string(), stored: storedSchema }).openapi('FeedbackStored');
export const feedbackDuplicateSchema = z.object({ id: z.string(), duplicate: z.literal(true), stored: storedSchema }).openapi('FeedbackDuplicate');

/** The form fields of POST /api/feedback besides the photo; `correctClass` is checked against the run's classes. */
export const correctionFields = {
  correctClass: z.string().openapi({ description: 'A class from GET /api/fruits, or "other"' }),
  predictedClass: z.string().max(200).optional(),
  note: z.string().max(500).optional(),
  lang: z.enum(['fr', 'en']).optional(),
};

export const fruitsListSchema = z.object({ fruits: z.array(fruitSchema), classes: z.array(classEntrySchema) });
export const fruitDetailSchema = z.object({ fruit: fruitSchema, classes: z.array(classEntrySchema) });

export const healthSchema = z.object({
  status: z.literal('ok'),
  runId: z.string(),
  modelSha256: z.string(),
  classes: z.int(),
  pending: z.int().openapi({ description: 'photos admitted and not answered yet' }),
  uptimeSeconds: z.int(),
  version: z.string(),
});

/** A JSON response of `schema`. */
export function json<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { 'application/json': { schema } } };
}

/** An error response (the Error schema), with the headers it carries. */
export function errorResponse(description: string, headers?: Record<string, { schema: { type: 'integer' | 'string' } }>) {
  return { ...json(description, errorSchema), ...(headers ? { headers } : {}) };
}

const retryAfter = { 'Retry-After': { schema: { type: 'integer' as const } } };

/** The answers every photo route can give besides its own. */
export function photoRouteLimits(rateLimitPerMinute: number) {
  return {
    413: errorResponse('Upload larger than the limit (the connection is closed)'),
    429: errorResponse(`More than ${rateLimitPerMinute} photo requests per minute from this client`, retryAfter),
    503: errorResponse('Too many photos waiting for the model, or no answer in time', retryAfter),
    431: errorResponse('Request headers larger than 16 KB (answered by the HTTP layer, same JSON shape)'),
  };
}

/** The photo itself, as the API reads it (the `photo` field of a form, or the whole raw body). */
export const photoBinary = z.string().openapi({ type: 'string', format: 'binary' });
