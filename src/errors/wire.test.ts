import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import * as classifierErrors from '../classifier/errors.js';
import { QueueFullError } from '../classifier/errors.js';
import * as imageErrors from '../images/errors.js';
import { ImageDecodeError } from '../images/errors.js';
import * as modelErrors from '../model/errors.js';
import { ModelContractError, ModelError } from '../model/errors.js';
import { FruitsError } from './fruits-error.js';
import { fromWire, toWire, type WireError } from './wire.js';

/**
 * Runs `body` (an async function's source, given the module URLs it may import) in a real worker thread, the way
 * the engines and the identifier run their threads, and returns what the thread posted back.
 */
function inThread(body: string): Promise<unknown> {
  const urls = {
    wire: new URL('./wire.ts', import.meta.url).href,
    model: new URL('../model/errors.ts', import.meta.url).href,
    images: new URL('../images/errors.ts', import.meta.url).href,
    classifier: new URL('../classifier/errors.ts', import.meta.url).href,
  };
  const source = `
    const { parentPort } = await import('node:worker_threads');
    const { register } = await import('tsx/esm/api');
    register();
    const urls = ${JSON.stringify(urls)};
    parentPort.postMessage(await (${body})(urls));`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(`(async () => { ${source} })()`, { eval: true });
    worker.once('message', (message) => void worker.terminate().then(() => resolve(message)));
    worker.once('error', reject);
  });
}

describe('errors across a worker thread', () => {
  test('postMessage alone keeps neither the class, the code nor the fields (why toWire exists)', async () => {
    const posted = (await inThread(`async (urls) => {
      const { ImageDecodeError } = await import(urls.images);
      return new ImageDecodeError('corrupt jpeg: premature end', 'corrupt');
    }`)) as Error & { code?: string; reason?: string };
    assert.ok(!(posted instanceof ImageDecodeError));
    assert.equal(posted.reason, undefined);
  });

  test('a model error thrown in a thread comes back as its class, with its code and its cause (the fs error)', async () => {
    const wire = (await inThread(`async (urls) => {
      const { toWire } = await import(urls.wire);
      const { ModelContractError } = await import(urls.model);
      const { readFileSync } = await import('node:fs');
      try {
        readFileSync('/no/such/model.onnx');
      } catch (error) {
        return toWire(new ModelContractError('cannot load /no/such/model.onnx as an ONNX model', { cause: error }));
      }
    }`)) as WireError;
    const error = fromWire(wire, [modelErrors]);
    assert.ok(error instanceof ModelContractError);
    assert.ok(error instanceof ModelError && error instanceof FruitsError);
    assert.equal(error.name, 'ModelContractError');
    assert.equal(error.code, 'FRUITS_MODEL_CONTRACT');
    assert.equal(error.message, 'cannot load /no/such/model.onnx as an ONNX model');
    const cause = error.cause as NodeJS.ErrnoException;
    assert.ok(cause instanceof Error, 'the cause is an Error again');
    assert.equal(cause.code, 'ENOENT');
    assert.equal(cause.path, '/no/such/model.onnx', "the cause's own fields come along");
    assert.match(error.stack ?? '', /ModelContractError/, "the stack is the thread's");
  });

  test("fields that callers branch on survive: ImageDecodeError's reason, QueueFullError's retryAfterSeconds", async () => {
    const wires = (await inThread(`async (urls) => {
      const { toWire } = await import(urls.wire);
      const { ImageDecodeError } = await import(urls.images);
      const { QueueFullError } = await import(urls.classifier);
      return [toWire(new ImageDecodeError('1×1 PNG truncated', 'corrupt')), toWire(new QueueFullError('32 photos wait', 3))];
    }`)) as WireError[];
    const [decode, full] = wires.map((w) => fromWire(w, [imageErrors, classifierErrors]));
    assert.ok(decode instanceof ImageDecodeError);
    assert.equal(decode.reason, 'corrupt');
    assert.equal(decode.code, 'FRUITS_IMAGE_DECODE');
    assert.ok(full instanceof QueueFullError);
    assert.equal(full.retryAfterSeconds, 3);
  });

  test('a class the receiver does not know comes back as an Error with its name, code and cause', () => {
    class ElsewhereError extends FruitsError {
      static override readonly code: string = 'FRUITS_ELSEWHERE';
    }
    const error = fromWire(toWire(new ElsewhereError('far away', { cause: new RangeError('inner') })), [modelErrors]) as Error & { code?: string };
    assert.equal(Object.getPrototypeOf(error), Error.prototype);
    assert.deepEqual([error.name, error.code, error.message], ['ElsewhereError', 'FRUITS_ELSEWHERE', 'far away']);
    assert.equal((error.cause as Error).message, 'inner');
    assert.equal(fromWire(toWire('a thrown string')).message, 'a thrown string');
  });

  test('a cause cycle does not loop', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    let depth = 0;
    for (let e: WireError | undefined = toWire(a); e; e = e.cause) depth++;
    assert.ok(depth <= 9, `depth ${depth}`);
  });
});
