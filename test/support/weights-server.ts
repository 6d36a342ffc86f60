import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for storage.googleapis.com on 127.0.0.1, for download tests (no test reaches the internet).
 * `control` changes how the next requests are answered.
 */
export interface ServerControl {
  /** Honour `Range: bytes=N-` with 206 + Content-Range (default true); false answers 200 with the whole file. */
  ranges: boolean;
  /** Answer every request with this error status. */
  status?: number;
  /** The next request only: announce the full length, send this many bytes, then drop the connection. */
  truncateOnce?: number;
  /** The next request only: send this many bytes, then stall (send nothing more, keep the connection open). */
  stallOnce?: number;
}

export interface RecordedRequest {
  path: string;
  range?: string;
  status: number;
}

export interface WeightsServer {
  baseUrl: string;
  control: ServerControl;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startWeightsServer(files: Record<string, Uint8Array>): Promise<WeightsServer> {
  const control: ServerControl = { ranges: true };
  const requests: RecordedRequest[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
    const range = req.headers.range;
    const record = (status: number): void => {
      requests.push({ path, range, status });
    };
    if (control.status) {
      record(control.status);
      res.writeHead(control.status, { 'content-type': 'text/plain' }).end('server error\n');
      return;
    }
    const body = files[path];
    if (!body) {
      record(404);
      res.writeHead(404).end('not found\n');
      return;
    }
    let start = 0;
    let status = 200;
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'accept-ranges': control.ranges ? 'bytes' : 'none' };
    const match = range && control.ranges ? /^bytes=(\d+)-$/.exec(range) : null;
    if (match) {
      start = Number(match[1]);
      if (start >= body.length) {
        record(416);
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    const payload = Buffer.from(body.buffer, body.byteOffset + start, body.length - start);
    headers['content-length'] = String(payload.length);
    record(status);
    res.writeHead(status, headers);
    if (control.truncateOnce !== undefined) {
      const cut = control.truncateOnce;
      control.truncateOnce = undefined;
      res.write(payload.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    if (control.stallOnce !== undefined) {
      const cut = control.stallOnce;
      control.stallOnce = undefined;
      res.write(payload.subarray(0, cut));
      return; // never ends: the client must give up on its own
    }
    res.end(payload);
  };
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/`,
    control,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 with nothing listening (connection refused): "no network" without touching the network. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
