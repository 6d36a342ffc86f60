import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { AcceptFirst } from './accept-first.js';

const servers: Server[] = [];
const clients: Socket[] = [];
after(async () => {
  for (const client of clients) client.destroy();
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

/** A server watched by `accepting` (whose listener so runs first at each acceptance). */
async function watchedServer(accepting: AcceptFirst): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.end();
  });
  accepting.watch(server);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * Opens `count` connections at once (they wait in the listen queue, which libuv drains one per iteration) and
 * resolves once the server accepted them all, with whether `reader` was paused at each acceptance.
 */
function burst(at: { server: Server; port: number }, count: number, reader: PassThrough, during: () => void = () => {}): Promise<boolean[]> {
  const paused: boolean[] = [];
  return new Promise((resolve) => {
    at.server.on('connection', () => {
      paused.push(reader.isPaused());
      during();
      if (paused.length === count) resolve(paused);
    });
    for (let i = 0; i < count; i++) {
      const client = connect(at.port, '127.0.0.1');
      client.on('error', () => {});
      clients.push(client);
    }
  });
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test('a reader is paused while connections are accepted, and flows again after an iteration that accepted none', async () => {
  const accepting = new AcceptFirst(60_000);
  const at = await watchedServer(accepting);
  const reader = new PassThrough();
  const got: string[] = [];
  reader.on('data', (chunk: Buffer) => got.push(chunk.toString()));
  accepting.track(reader);

  const paused = await burst(at, 40, reader, () => reader.write('during'));
  assert.deepEqual(paused, Array(40).fill(true), 'paused at every accepted connection');
  assert.deepEqual(got, [], 'nothing was read during the burst');

  await turn();
  await turn();
  assert.equal(accepting.paused, false);
  assert.equal(reader.isPaused(), false);
  await turn();
  assert.equal(got.join('').length, 'during'.length * 40, 'what arrived during the burst is read after it');
});

test('a long burst pauses the reader at most maxPauseMs at a time: it gets iterations of reading in between', async () => {
  const accepting = new AcceptFirst(5);
  const at = await watchedServer(accepting);
  const reader = new PassThrough();
  let chunks = 0;
  reader.on('data', () => chunks++);
  accepting.track(reader);
  const readAt: number[] = [];

  // Each acceptance takes 2 ms: 60 of them are a 120 ms burst.
  const paused = await burst(at, 60, reader, () => {
    readAt.push(chunks);
    reader.write('x');
    const until = performance.now() + 2;
    while (performance.now() < until);
  });
  const reading = paused.filter((p) => !p).length;
  assert.ok(reading >= 5, `iterations of reading during a 120 ms burst with maxPauseMs 5: ${reading} (${paused.map(Number).join('')})`);
  assert.ok(reading <= 30, `mostly paused: ${reading} of 60 iterations read (${paused.map(Number).join('')})`);
  assert.ok(readAt.at(-1)! > 0, 'the chunks written during the burst were partly read during it');
});

test('a reader is left alone once untracked, and one tracked during a burst starts paused', async () => {
  const accepting = new AcceptFirst(60_000);
  const at = await watchedServer(accepting);
  const gone = new PassThrough();
  gone.resume();
  accepting.track(gone)();
  const late = new PassThrough();
  let lateWasPaused: boolean | undefined;

  const paused = await burst(at, 10, gone, () => {
    if (lateWasPaused !== undefined) return;
    accepting.track(late);
    late.on('data', () => {});
    lateWasPaused = late.isPaused();
  });
  assert.deepEqual(paused, Array(10).fill(false), 'an untracked reader is never paused');
  assert.equal(lateWasPaused, true, "tracked during the burst: paused at once, and adding a 'data' listener does not resume it");
  await turn();
  await turn();
  assert.equal(late.isPaused(), false, 'resumed with the others after the burst');
});
