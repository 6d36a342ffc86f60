/**
 * The OpenAPI 3.1 document of the HTTP API, served at /openapi.json. It is generated from the routes' own
 * declarations (createRoute with the zod schemas of api-schemas.ts, registered on the app by routes/*.ts): only
 * the document's header is written here.
 *
 * @module
 */
import type { OpenAPIHono } from '@hono/zod-openapi';

export type OpenApiDocument = ReturnType<OpenAPIHono['getOpenAPI31Document']>;

/** The document of every route registered on `app` so far. */
export function openApiDocument(app: OpenAPIHono, options: { version?: string }): OpenApiDocument {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'fruits — fruit identification API',
      version: options.version ?? '0.1.0',
      description:
        'Photograph a fruit, learn what it is. MobileNetV2 features + PCA, classified against a Fruits-360 run (linear probe, kNN). ' +
        'Errors are JSON: { "error": { "code", "message" } }, including those of the HTTP layer (400 malformed request, 408, 431).',
    },
  });
}
