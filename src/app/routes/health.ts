import type { Hono } from 'hono';
import type { AppOptions } from '../context.js';

/** GET /healthz: 200 once the model and the run are loaded (the server only listens after that). */
export function registerHealth(app: Hono, options: AppOptions): void {
  const started = Date.now();
  app.get('/healthz', (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json({
      status: 'ok',
      runId: options.identifier.runId,
      modelSha256: options.identifier.modelSha256,
      classes: options.identifier.classes.length,
      pending: options.identifier.pending,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      version: options.version ?? '0.1.0',
    });
  });
}
