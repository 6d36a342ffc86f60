import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { healthSchema, json } from '../api-schemas.js';
import type { AppOptions } from '../context.js';

const route = createRoute({
  method: 'get',
  path: '/healthz',
  summary: 'Liveness and what is loaded',
  responses: { 200: json('Run id, model sha256, number of classes, photos pending', healthSchema) },
});

/** GET /healthz: 200 once the model and the run are loaded (the server only listens after that). */
export function registerHealth(app: OpenAPIHono, options: AppOptions): void {
  const started = Date.now();
  app.openapi(route, (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json(
      {
        status: 'ok' as const,
        runId: options.identifier.runId,
        modelSha256: options.identifier.modelSha256,
        classes: options.identifier.classes.length,
        pending: options.identifier.pending,
        uptimeSeconds: Math.round((Date.now() - started) / 1000),
        version: options.version ?? '0.1.0',
      },
      200,
    );
  });
}
