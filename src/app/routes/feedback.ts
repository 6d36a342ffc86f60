import { randomBytes } from 'node:crypto';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import sharp from 'sharp';
import { decodeImage, DEFAULT_DECODE } from '../../images/decode.js';
import { describeIssues } from '../../errors/issues.js';
import { sha256Bytes } from '../../model/sha256.js';
import type { AppOptions } from '../context.js';
import type { FeedbackStore } from '../feedback-store.js';
import { correctionFields, errorResponse, feedbackDuplicateSchema, feedbackStoredSchema, json, photoBinary, photoRouteLimits } from '../api-schemas.js';
import { HttpError } from '../errors.js';
import { incomingOf, MULTIPART_OVERHEAD, readUpload, uploadTooLarge } from '../upload.js';

/**
 * Photos kept for the next training set: big enough to crop a fruit from (the model sees 224×224), small enough to
 * store by the thousand (~100–250 kB at q90 where a 2048² phone photo took 3.25 MB).
 */
export const STORED_MAX_SIDE = 1024;

/** POST /api/feedback as the OpenAPI document describes it (registered for the document only, as identify's). */
export function feedbackRoute(options: Pick<AppOptions, 'rateLimitPerMinute'>) {
  return createRoute({
    method: 'post',
    path: '/api/feedback',
    summary: 'Tell the right fruit for a photo the app got wrong',
    description: 'Stores the photo (re-encoded JPEG, metadata removed) and the correction under feedback/ in the run.',
    request: {
      body: { required: true, content: { 'multipart/form-data': { schema: z.object({ photo: photoBinary, ...correctionFields }) } } },
    },
    responses: {
      201: json('Stored', feedbackStoredSchema),
      200: json('This photo (same sha256) is already stored: nothing written; the id of that correction', feedbackDuplicateSchema),
      400: errorResponse('Invalid correction (unknown class, note too long), no photo, or two "photo" files'),
      415: errorResponse('Not an image'),
      422: errorResponse('Corrupt image or too many pixels'),
      507: errorResponse('The feedback folder holds its size cap (--feedback-max-mb): corrections are not stored until it is emptied'),
      ...photoRouteLimits(options.rateLimitPerMinute),
    },
  });
}

/**
 * POST /api/feedback: "wrong? this is the right fruit". Stores under the run's storage
 *   feedback/<UTC timestamp>-<id>.jpg   the photo, upright, re-encoded as JPEG without any metadata (no GPS)
 *   feedback/<UTC timestamp>-<id>.json  the correction: right class, predicted class, note, run and model
 * so a later run has labelled real-world photos. The client's IP is not stored. A photo already stored (same
 * sha256 of the uploaded bytes) is not stored again (200 with the existing correction); once the folder holds
 * `feedbackMaxBytes`, corrections are refused with 507.
 */
export function registerFeedback(app: OpenAPIHono, options: AppOptions, store: FeedbackStore): void {
  app.openAPIRegistry.registerPath(feedbackRoute(options));
  // A correction is a form (its photo and fields), so its limit is the photo's plus the form's envelope. Here
  // hono/body-limit can hold it: no queue is counted before the body is read, and a browser's form has a
  // Content-Length, which bodyLimit checks without reading anything (a chunked body it counts while reading).
  // readUpload still counts the photo part against the photo limit.
  const maxFormBytes = options.maxUploadBytes + MULTIPART_OVERHEAD;
  const limit = bodyLimit({
    maxSize: maxFormBytes,
    onError: () => {
      throw uploadTooLarge(maxFormBytes);
    },
  });
  const classes = new Set(options.identifier.classes);
  const schema = z.object({
    ...correctionFields,
    correctClass: correctionFields.correctClass.refine((v) => classes.has(v) || v === 'other', {
      message: 'must be one of the classes of GET /api/fruits, or "other"',
    }),
  });
  app.post('/api/feedback', limit, async (c) => {
    const { photo, fields } = await readUpload(c.req.raw, options.maxUploadBytes, { incoming: incomingOf(c) });
    const parsed = schema.safeParse(fields);
    if (!parsed.success) {
      throw new HttpError(400, 'invalid-feedback', `invalid correction: ${describeIssues(parsed.error, 'form')}`);
    }
    const sha256 = sha256Bytes(photo);
    const existing = await store.find(sha256);
    if (existing) {
      return c.json(
        { id: existing.id, duplicate: true as const, stored: { photo: `${existing.stem}.jpg`, record: `${existing.stem}.json` } } satisfies z.input<
          typeof feedbackDuplicateSchema
        >,
        200,
      );
    }
    // Same checks as identify (sniffed format, pixel limit, corrupt data) before anything is stored.
    const decoded = await decodeImage(photo, { ...DEFAULT_DECODE, maxPixels: options.maxPixels });
    const jpeg = await sharp(photo, { limitInputPixels: options.maxPixels, failOn: 'warning' })
      .rotate()
      .resize(STORED_MAX_SIDE, STORED_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 90 })
      .toBuffer({ resolveWithObject: true });

    const receivedAt = new Date();
    const id = randomBytes(4).toString('hex');
    const stem = `feedback/${receivedAt
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z')}-${id}`;
    const record = {
      format: 'fruits-feedback/1',
      id,
      receivedAt: receivedAt.toISOString(),
      correctClass: parsed.data.correctClass,
      predictedClass: parsed.data.predictedClass ?? null,
      note: parsed.data.note ?? null,
      lang: parsed.data.lang ?? null,
      runId: options.identifier.runId,
      modelSha256: options.identifier.modelSha256,
      photo: {
        key: `${stem}.jpg`,
        width: jpeg.info.width,
        height: jpeg.info.height,
        original: { format: decoded.format, width: decoded.width, height: decoded.height, bytes: photo.length, sha256 },
      },
    };
    await store.add(sha256, { id, stem }, jpeg.data, `${JSON.stringify(record, null, 2)}\n`);
    return c.json({ id, stored: { photo: `${stem}.jpg`, record: `${stem}.json` } } satisfies z.input<typeof feedbackStoredSchema>, 201);
  });
}
