import type { Hono } from 'hono';
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
export function registerWeb(app: Hono, options: AppOptions): void {
  const page = renderPage({ maxUploadBytes: options.maxUploadBytes });
  const openapi = JSON.stringify(openApiDocument({ maxUploadBytes: options.maxUploadBytes, rateLimitPerMinute: options.rateLimitPerMinute, version: options.version }));
  const immutable = (c: { req: { query: (k: string) => string | undefined } }) =>
    c.req.query('v') === ASSET_VERSION ? 'public, max-age=31536000, immutable' : 'no-cache';

  app.get('/', (c) => {
    c.header('Cache-Control', 'no-cache');
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; " +
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
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
  app.get('/openapi.json', (c) => c.body(openapi, 200, { 'Content-Type': 'application/json; charset=utf-8' }));
}
