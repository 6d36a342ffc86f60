import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fruitDirectory } from '../../../src/app/fruit-directory.js';
import { createApp, DEFAULT_LIMITS, startServer, type AppOptions, type RunningServer } from '../../../src/app/server.js';
import { Catalog } from '../../../src/catalog/catalog.js';
import { Identifier, type IdentifierOptions } from '../../../src/classifier/identifier.js';
import { openStorage } from '../../../src/storage/open-storage.js';

export interface TestServer extends RunningServer {
  identifier: Identifier;
  stop(): Promise<void>;
}

/**
 * What createApp takes in a test: the catalog's fruit directory, feedback in a new temporary folder, the default
 * upload limit, a 50-megapixel decode limit, a 10 s model timeout and no rate limit; `overrides` on top.
 */
export function testAppOptions(identifier: AppOptions['identifier'], overrides: Partial<AppOptions> = {}): AppOptions {
  return {
    identifier,
    directory: fruitDirectory(Catalog.load()),
    feedback: openStorage(mkdtempSync(join(tmpdir(), 'fruits-app-feedback-'))),
    maxUploadBytes: DEFAULT_LIMITS.maxUploadBytes,
    maxPixels: 50_000_000,
    rateLimitPerMinute: 0,
    requestTimeoutMs: 10_000,
    trustProxy: false,
    ...overrides,
  };
}

/** The app on a free loopback port, in this process, over a run (the same wiring as `fruits serve`). */
export async function startTestServer(
  run: string,
  model: string,
  app: Partial<Omit<AppOptions, 'identifier'>> = {},
  classifier: Partial<IdentifierOptions> = {},
): Promise<TestServer> {
  const identifier = await Identifier.open({ run, model, threads: 1, ...classifier });
  const options = testAppOptions(identifier, {
    feedback: openStorage(run),
    maxPixels: identifier.maxPixels,
    requestTimeoutMs: DEFAULT_LIMITS.requestTimeoutMs,
    maxQueued: classifier.maxWaiting,
    ...app,
  });
  const server = await startServer(createApp(options), { port: 0, host: '127.0.0.1', requestTimeoutMs: options.requestTimeoutMs });
  return {
    ...server,
    identifier,
    stop: async () => {
      await server.close();
      await identifier.close();
    },
  };
}

/** POSTs a photo as multipart field "photo" (plus text fields). */
export function postPhoto(url: string, photo: Uint8Array, fields: Record<string, string> = {}, name = 'photo.jpg'): Promise<Response> {
  const form = new FormData();
  form.append('photo', new Blob([photo]), name);
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return fetch(url, { method: 'POST', body: form });
}
