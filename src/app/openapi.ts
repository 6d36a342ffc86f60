/** OpenAPI 3.1 description of the HTTP API, served at /openapi.json. Kept beside the routes it describes. */
export function openApiDocument(options: { maxUploadBytes: number; rateLimitPerMinute: number; version?: string }) {
  const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  const names = { type: 'object', required: ['en', 'fr'], properties: { en: { type: 'string' }, fr: { type: 'string' } } };
  const photoBody = {
    required: true,
    description: `The photo, at most ${options.maxUploadBytes} bytes: JPEG, PNG, WebP, GIF or TIFF, recognised from its bytes (name and Content-Type are ignored).`,
    content: {
      'multipart/form-data': { schema: { type: 'object', required: ['photo'], properties: { photo: { type: 'string', format: 'binary' } } } },
      'image/*': { schema: { type: 'string', format: 'binary' } },
      'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
    },
  };
  const limited = {
    '413': error('Upload larger than the limit'),
    '429': { ...error(`More than ${options.rateLimitPerMinute} photo requests per minute from this client`), headers: { 'Retry-After': { schema: { type: 'integer' } } } },
    '503': { ...error('Too many photos waiting for the model, or no answer in time'), headers: { 'Retry-After': { schema: { type: 'integer' } } } },
    '431': error('Request headers larger than 16 KB (answered by the HTTP layer, same JSON shape)'),
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'fruits — fruit identification API',
      version: options.version ?? '0.1.0',
      description:
        'Photograph a fruit, learn what it is. MobileNetV2 features + PCA, classified against a Fruits-360 run (linear probe, kNN). ' +
        'Errors are JSON: { "error": { "code", "message" } }, including those of the HTTP layer (400 malformed request, 408, 431).',
    },
    paths: {
      '/api/identify': {
        post: {
          summary: 'Identify the fruit in a photo',
          parameters: [{ name: 'method', in: 'query', required: false, schema: { type: 'string', enum: ['probe', 'knn'], default: 'probe' } }],
          requestBody: photoBody,
          responses: {
            '200': { description: 'Top-5 answer, "not sure" flag, fruit card of the top answer', content: { 'application/json': { schema: { $ref: '#/components/schemas/Answer' } } } },
            '400': error('Empty body, no "photo" field, or a malformed form'),
            '415': error('The bytes are not an image of a supported format'),
            '422': error('Corrupt image, or more pixels than the decompression-bomb limit'),
            ...limited,
          },
        },
      },
      '/api/feedback': {
        post: {
          summary: 'Tell the right fruit for a photo the app got wrong',
          description: 'Stores the photo (re-encoded JPEG, metadata removed) and the correction under feedback/ in the run.',
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['photo', 'correctClass'],
                  properties: {
                    photo: { type: 'string', format: 'binary' },
                    correctClass: { type: 'string', description: 'A class from GET /api/fruits, or "other"' },
                    predictedClass: { type: 'string' },
                    note: { type: 'string', maxLength: 500 },
                    lang: { type: 'string', enum: ['fr', 'en'] },
                  },
                },
              },
            },
          },
          responses: {
            '201': { description: 'Stored', content: { 'application/json': { schema: { type: 'object', properties: { id: { type: 'string' }, stored: { type: 'object' } } } } } },
            '200': {
              description: 'This photo (same sha256) is already stored: nothing written; the id of that correction',
              content: { 'application/json': { schema: { type: 'object', properties: { id: { type: 'string' }, duplicate: { type: 'boolean' }, stored: { type: 'object' } } } } },
            },
            '400': error('Invalid correction (unknown class, note too long), no photo, or two "photo" files'),
            '507': error('The feedback folder holds its size cap (--feedback-max-mb): corrections are not stored until it is emptied'),
            '415': error('Not an image'),
            '422': error('Corrupt image or too many pixels'),
            ...limited,
          },
        },
      },
      '/api/fruits': {
        get: {
          summary: 'Species the app knows and every class it can answer',
          responses: { '200': { description: 'Fruits and classes', content: { 'application/json': { schema: { type: 'object', properties: { fruits: { type: 'array', items: { $ref: '#/components/schemas/Fruit' } }, classes: { type: 'array', items: { $ref: '#/components/schemas/ClassEntry' } } } } } } } },
        },
      },
      '/api/fruits/{id}': {
        get: {
          summary: 'One species',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': { description: 'The fruit card and its classes', content: { 'application/json': { schema: { type: 'object', properties: { fruit: { $ref: '#/components/schemas/Fruit' }, classes: { type: 'array', items: { $ref: '#/components/schemas/ClassEntry' } } } } } } },
            '404': error('Unknown fruit id'),
          },
        },
      },
      '/healthz': {
        get: {
          summary: 'Liveness and what is loaded',
          responses: { '200': { description: 'Run id, model sha256, number of classes, photos pending', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
    },
    components: {
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
        },
        Names: names,
        ClassEntry: { type: 'object', properties: { class: { type: 'string' }, fruitId: { type: 'string' }, label: { $ref: '#/components/schemas/Names' } } },
        Fruit: {
          type: 'object',
          description: 'A species from the catalog',
          properties: {
            id: { type: 'string' },
            names: { $ref: '#/components/schemas/Names' },
            scientificName: { type: 'string' },
            family: { type: 'string' },
            kind: { type: 'string' },
            origin: { type: 'string' },
            originFr: { type: 'string' },
            seasonEurope: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 12 } },
            nutritionPer100g: { type: 'object', additionalProperties: { type: 'number' } },
            biodiversity: { $ref: '#/components/schemas/Names' },
          },
        },
        Prediction: {
          type: 'object',
          required: ['class', 'label', 'score'],
          properties: { class: { type: 'string' }, label: { $ref: '#/components/schemas/Names' }, fruitId: { type: 'string' }, score: { type: 'number', minimum: 0, maximum: 1 } },
        },
        Answer: {
          type: 'object',
          required: ['predictions', 'notSure', 'fruit', 'timings'],
          properties: {
            runId: { type: 'string' },
            predictions: { type: 'array', maxItems: 5, items: { $ref: '#/components/schemas/Prediction' } },
            notSure: { type: 'boolean', description: 'True when the top score is low or the photo is unlike every reference image' },
            reasons: { type: 'array', items: { type: 'string', enum: ['low-score', 'unlike-references'] } },
            method: { type: 'string', enum: ['probe', 'knn'] },
            fruit: { oneOf: [{ $ref: '#/components/schemas/Fruit' }, { type: 'null' }] },
            knn: { type: 'array', items: { type: 'object', properties: { class: { type: 'string' }, score: { type: 'number' } } } },
            ood: { type: 'object', properties: { nearestSimilarity: { type: 'number' }, nearestRatio: { type: 'number' }, centroidRatio: { type: 'number' }, score: { type: 'number' } } },
            image: { type: 'object', properties: { format: { type: 'string' }, width: { type: 'integer' }, height: { type: 'integer' }, bytes: { type: 'integer' } } },
            classifier: { type: 'string', enum: ['scene', 'probe'], description: "'scene': trained by fruits train for real photos, on several views of the photo" },
            views: { type: 'integer', description: 'views of the photo classified' },
            region: {
              type: 'object',
              description: 'the part of the photo that was recognised (fractions of its width and height), when not the whole photo',
              properties: { x: { type: 'number' }, y: { type: 'number' }, width: { type: 'number' }, height: { type: 'number' } },
            },
            timings: { type: 'object', properties: { decodeMs: { type: 'number' }, waitMs: { type: 'number' }, inferenceMs: { type: 'number' }, batchSize: { type: 'integer' }, totalMs: { type: 'number' } } },
          },
        },
      },
    },
  };
}
