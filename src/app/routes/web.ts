import type { OpenAPIHono } from '@hono/zod-openapi';
import { APP_JS } from '../web/app-script.js';
import { ASSET_VERSION, renderPage } from '../web/page.js';
import { STYLES_CSS } from '../web/styles.js';
import type { AppOptions } from '../context.js';
import { openApiDocument } from '../openapi.js';

/**
 * The web page and its two assets, all from memory (they are TS string modules, so `tsc` carries them into
 * dist/ and `node dist/cli/main.js serve` needs no src/ folder). The page links versioned asset URLs, so
 * the assets are cacheable for a year and the page itself is always revalidated.
 */
export function registerWeb(app: OpenAPIHono, options: AppOptions): void {
  const page = renderPage({ maxUploadBytes: options.maxUploadBytes });
  // Generated on the first request, when every route of the app is registered (this one is not an API route).
  let openapi: string | undefined;
  const immutable = (c: { req: { query: (k: string) => string | undefined } }) =>
    c.req.query('v') === ASSET_VERSION ? 'public, max-age=31536000, immutable' : 'no-cache';

  // The page's Content-Security-Policy is set with the other security headers (server.ts).
  app.get('/', (c) => {
    c.header('Cache-Control', 'no-cache');
    return c.html(page);
  });
  app.get('/app.js', (c) => {
    c.header('Cache-Control', immutable(c));
    return c.body(APP_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8' });
  });
  app.get('/styles.css', (c) => {
    c.header('Cache-Control', immutable(c));
    return c.body(STYLES_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });
  app.get('/openapi.json', (c) => {
    openapi ??= JSON.stringify(openApiDocument(app, { version: options.version }));
    return c.body(openapi, 200, { 'Content-Type': 'application/json; charset=utf-8' });
  });
}
