import { fruitDirectory } from '../../../src/app/fruit-directory.js';
import { createApp, DEFAULT_LIMITS, startServer, type AppOptions, type RunningServer } from '../../../src/app/server.js';
import { Catalog } from '../../../src/catalog/catalog.js';
import { Identifier, type IdentifierOptions } from '../../../src/classifier/identifier.js';
import { openStorage } from '../../../src/storage/open-storage.js';

export interface TestServer extends RunningServer {
  identifier: Identifier;
  stop(): Promise<void>;
}

/** The app on a free loopback port, in this process, over a run (the same wiring as `fruits serve`). */
export async function startTestServer(
  run: string,
  model: string,
  app: Partial<Omit<AppOptions, 'identifier'>> = {},
  classifier: Partial<IdentifierOptions> = {},
): Promise<TestServer> {
  const identifier = await Identifier.open({ run, model, threads: 1, ...classifier });
  const options: AppOptions = {
    identifier,
    directory: fruitDirectory(Catalog.load()),
    feedback: openStorage(run),
    maxUploadBytes: DEFAULT_LIMITS.maxUploadBytes,
    maxPixels: identifier.maxPixels,
    rateLimitPerMinute: 0,
    requestTimeoutMs: DEFAULT_LIMITS.requestTimeoutMs,
    trustProxy: false,
    maxQueued: classifier.maxWaiting,
    ...app,
  };
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
