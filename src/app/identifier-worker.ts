/** Entry of the identifier thread (see identifier-thread.ts): one Identifier, answering the server's thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { Identifier } from '../classifier/identifier.js';
import { toWire } from '../errors/wire.js';
import { collectWhenIdle } from './idle-gc.js';
import type { FromThread, ThreadedIdentifierOptions, ToThread } from './identifier-messages.js';

const port = parentPort!;
const post = (message: FromThread) => port.postMessage(message);

let identifier: Identifier;
try {
  identifier = await Identifier.open({ ...(workerData as Omit<ThreadedIdentifierOptions, 'log'>), log: (line) => post({ type: 'log', line }) });
} catch (error) {
  post({ type: 'failed', error: toWire(error) });
  process.exit(0);
}
post({
  type: 'ready',
  info: {
    runId: identifier.runId,
    modelSha256: identifier.modelSha256,
    classes: identifier.classes,
    maxPixels: identifier.maxPixels,
    referenceRows: identifier.references.rows,
    classifierSource: identifier.classifierSource,
  },
});
// This thread owns the photos once moved here, and their decoded pixels: its own collection after a burst.
collectWhenIdle(() => identifier.pending > 0);
port.on('message', (message: ToThread) => {
  if (message.type === 'close') {
    void identifier.close().finally(() => process.exit(0));
    return;
  }
  identifier.identify(message.bytes, message.method).then(
    (result) => post({ type: 'result', id: message.id, result }),
    (error: unknown) => post({ type: 'error', id: message.id, error: toWire(error) }),
  );
});
