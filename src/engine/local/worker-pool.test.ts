import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DEFAULT_RUN_OPTIONS, type RunSpec } from '../../dataset/run-spec.js';
import { FruitsError } from '../../errors/fruits-error.js';
import { ModelContractError, ModelError } from '../../model/errors.js';
import { sha256Bytes } from '../../model/sha256.js';
import { WorkerPool } from './worker-pool.js';

describe('WorkerPool: errors raised in a pipeline thread', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fruits-pool-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  // Until the threads sent toWire(error), this reached the engine's caller as a WorkerTaskError renamed
  // 'ModelContractError': not instanceof ModelError, no code (the CLI could not give it the model exit code),
  // and onnxruntime's own error, the cause, was gone.
  test('a model that onnxruntime cannot load rejects start() with ModelContractError, its code and the cause', async () => {
    const bytes = Buffer.from('these bytes are not an ONNX protobuf\n');
    const modelPath = join(dir, 'not-a-model.onnx');
    writeFileSync(modelPath, bytes);
    const spec: RunSpec = {
      runId: 'test-run',
      input: join(dir, 'in'),
      output: join(dir, 'out'),
      createdAt: new Date(0).toISOString(),
      options: DEFAULT_RUN_OPTIONS,
      model: { file: 'not-a-model.onnx', sha256: sha256Bytes(bytes) },
      fingerprint: 'test',
    };
    const pool = new WorkerPool(1, { spec, modelPath, threads: 1 });
    const error = await pool.start().then(
      () => assert.fail('start() resolved'),
      (e: unknown) => e,
    );
    await pool.terminate();
    assert.ok(error instanceof ModelContractError, String(error));
    assert.ok(error instanceof ModelError && error instanceof FruitsError);
    assert.equal(error.code, 'FRUITS_MODEL_CONTRACT');
    assert.match(error.message, /cannot load .*not-a-model\.onnx as an ONNX model/);
    assert.ok(error.cause instanceof Error, "onnxruntime's error is kept as the cause");
    assert.notEqual((error.cause as Error).message, '');
  });
});
