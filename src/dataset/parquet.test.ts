import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeParquet, encodeParquet, parquetRowCount, readStringColumn, readVectorColumn, utf8 } from './parquet.js';

/** The Parquet every part of a run is: what is written must read back bit for bit, with its metadata. */
describe('Parquet round trip', () => {
  const rows = 7;
  const dim = 5;
  // Values that a lossy path would change: subnormals, negative zero, large and tiny magnitudes.
  const features = Float32Array.from({ length: rows * dim }, (_, i) => [1e-40, -0, 3.4e38, -1.5e-7, i / 3][i % 5]);
  const labels = ['Apple Braeburn 1', 'Banana 1', 'Apple Braeburn 1', 'Kiwi 1', 'é ü 中', '', 'Banana 1'];

  test('strings, integers and float32 vectors read back exactly, with the key-value metadata', async () => {
    const bytes = encodeParquet(
      {
        label: utf8(labels),
        index: { type: 'int32', values: Int32Array.from({ length: rows }, (_, i) => i * 3 - 2) },
        offset: { type: 'int64', values: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i) * 2n ** 40n) },
        features: { type: 'vector', values: features, dim },
      },
      { 'fruits.run': 'r-1' },
    );
    assert.equal(await parquetRowCount(bytes), rows);
    const table = decodeParquet(bytes);
    assert.deepEqual(readStringColumn(table, 'label'), labels);
    assert.deepEqual(Array.from(table.getChild('index')!.toArray() as Int32Array), [-2, 1, 4, 7, 10, 13, 16]);
    assert.equal((table.getChild('offset')!.toArray() as BigInt64Array)[6], 6n * 2n ** 40n);
    const read = readVectorColumn(table, 'features');
    assert.equal(read.dim, dim);
    assert.deepEqual(new Uint8Array(read.values.buffer), new Uint8Array(features.buffer), 'float32 bits unchanged');
    assert.equal(table.schema.metadata.get('fruits.run'), 'r-1');
  });

  test('some columns only; a file cut short has no row count; columns of unequal length are refused', async () => {
    const bytes = encodeParquet({ label: utf8(labels), features: { type: 'vector', values: features, dim } });
    assert.deepEqual(
      decodeParquet(bytes, ['label']).schema.fields.map((f) => f.name),
      ['label'],
    );
    await assert.rejects(parquetRowCount(bytes.subarray(0, bytes.length - 10)));
    assert.throws(() => encodeParquet({ label: utf8(['a']), features: { type: 'vector', values: features, dim } }), /rows/);
  });
});
