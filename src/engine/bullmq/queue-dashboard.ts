import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import type { Queue } from 'bullmq';
import { Hono } from 'hono';

/**
 * bull-board's web UI for the queue `shards` (jobs by state, payloads, failure reasons, logs), read-only: the
 * page can show everything but change nothing, since anyone who reaches the port would act with the queue's
 * rights. Binds to 127.0.0.1 unless told otherwise: reach it through an SSH tunnel or a port-forward.
 */
export class QueueDashboard {
  private constructor(
    private readonly server: ServerType,
    readonly url: string,
  ) {}

  static async start(queue: Queue, options: { port: number; host?: string }): Promise<QueueDashboard> {
    const basePath = '/';
    const adapter = new HonoAdapter(serveStatic);
    createBullBoard({ queues: [new BullMQAdapter(queue, { readOnlyMode: true })], serverAdapter: adapter, options: { uiConfig: { boardTitle: 'fruits' } } });
    adapter.setBasePath(basePath);
    const app = new Hono();
    app.route(basePath, adapter.registerPlugin());
    const host = options.host ?? '127.0.0.1';
    const server = await new Promise<ServerType>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: options.port, hostname: host }, () => resolve(s));
      s.once('error', reject);
    });
    const { port } = server.address() as AddressInfo;
    return new QueueDashboard(server, `http://${host.includes(':') ? `[${host}]` : host}:${port}/`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
