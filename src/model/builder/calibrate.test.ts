import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { calibrateRanges } from './calibrate.js';
import { buildMobileNetV2Onnx } from './mobilenet-v2-graph.js';
import { buildMobileNetV2Int8Onnx, FAITHFUL_FLOAT_LAYERS, faithfulInt8Options, quantizedTensors } from './mobilenet-v2-int8-graph.js';
import { randomInputs, randomWeights, tempDir } from '../../../test/support/model-helpers.js';

/** Ops of the graph onnxruntime actually runs (after its optimiser), counted by type. */
async function optimisedOps(model: Uint8Array): Promise<{ ops: Record<string, number>; session: ort.InferenceSession }> {
  const path = join(tempDir('fruits-int8-'), 'optimised.onnx');
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: path,
    logSeverityLevel: 3,
  });
  const ops: Record<string, number> = {};
  for (const n of onnxProto.onnx.ModelProto.decode(readFileSync(path)).graph!.node!) ops[n.opType!] = (ops[n.opType!] ?? 0) + 1;
  return { ops, session };
}

describe('int8 MobileNetV2 graph (random weights, no shared assets)', async () => {
  const weights = randomWeights(7);
  const fp32 = buildMobileNetV2Onnx(weights);
  const names = quantizedTensors();
  const input = randomInputs(2, 99);
  const ranges = await calibrateRanges(fp32, input, 2, names, { method: 'minmax' });

  test('calibration measures every quantised tensor: finite ranges, ReLU6 outputs inside [0, 6], one mean per channel', async () => {
    assert.equal(names.length, 62); // input + stem + block 0 (2) + 16 blocks × 3 + 10 residual sums
    for (const name of names) {
      const r = ranges.get(name)!;
      assert.ok(Number.isFinite(r.min) && Number.isFinite(r.max) && r.min <= r.max, `${name}: ${r.min}..${r.max}`);
      if (name.endsWith('_relu')) assert.ok(r.min >= 0 && r.max <= 6, `${name}: ${r.min}..${r.max}`);
      assert.ok(r.channelMeans && r.channelMeans.length > 0);
    }
    assert.equal(ranges.get('input_nchw')!.channelMeans!.length, 3);
    assert.equal(ranges.get('block_16_project_BN')!.channelMeans!.length, 320);
    const pct = await calibrateRanges(fp32, input, 2, names.slice(0, 8), { method: 'percentile', percentile: 99 });
    for (const [name, r] of pct) {
      const full = ranges.get(name)!;
      assert.ok(
        r.min >= full.min - 1e-6 && r.max <= full.max + 1e-6 && r.max > r.min,
        `${name}: percentile ${r.min}..${r.max} outside ${full.min}..${full.max}`,
      );
    }
  });

  test('QDQ form: onnxruntime fuses every quantised conv into QLinearConv and keeps the features contract', async () => {
    const model = buildMobileNetV2Int8Onnx(weights, faithfulInt8Options(ranges));
    const { ops, session } = await optimisedOps(model);
    try {
      // 52 convs − the 3 float layers of the faithful scheme − the float head = 48 fused.
      assert.equal((ops.QLinearConv ?? 0) + (ops.NhwcQLinearConv ?? 0), 52 - FAITHFUL_FLOAT_LAYERS.length - 1, JSON.stringify(ops));
      assert.equal(ops.QLinearAdd, 10, JSON.stringify(ops));
      const out = await session.run({ input: new ort.Tensor('float32', input, [2, 224, 224, 3]) });
      assert.deepEqual(out.features.dims, [2, 1280]);
      assert.ok((out.features.data as Float32Array).every((v) => Number.isFinite(v) && v >= 0 && v <= 6));
    } finally {
      await session.release();
    }
    const meta = Object.fromEntries(onnxProto.onnx.ModelProto.decode(model).metadataProps!.map((p) => [p.key, p.value]));
    assert.equal(meta.precision, 'int8');
    assert.match(meta.quantization, /^qdq, weights int8 per-channel symmetric/);
    // Deterministic: same weights and ranges, same bytes.
    assert.ok(Buffer.from(buildMobileNetV2Int8Onnx(weights, faithfulInt8Options(ranges))).equals(Buffer.from(model)));
  });

  test('QOperator form: QLinearConv and com.microsoft QLinearAdd written directly; onnxruntime runs it', async () => {
    const model = buildMobileNetV2Int8Onnx(weights, { ranges, form: 'qoperator' });
    const graph = onnxProto.onnx.ModelProto.decode(model).graph!;
    assert.equal(graph.node!.filter((n) => n.opType === 'QLinearConv').length, 51);
    assert.ok(graph.node!.filter((n) => n.opType === 'QLinearAdd').every((n) => n.domain === 'com.microsoft'));
    const { session } = await optimisedOps(model);
    try {
      const out = await session.run({ input: new ort.Tensor('float32', input, [2, 224, 224, 3]) });
      assert.deepEqual(out.features.dims, [2, 1280]);
    } finally {
      await session.release();
    }
  });

  test('refused: a tensor without a calibrated range, float layers in QOperator form, bias correction without means', () => {
    const partial = new Map(ranges);
    partial.delete('block_5_add');
    assert.throws(() => buildMobileNetV2Int8Onnx(weights, { ranges: partial }), /no calibrated range for tensor block_5_add/);
    assert.throws(() => buildMobileNetV2Int8Onnx(weights, { ranges, form: 'qoperator', floatLayers: new Set(['Conv1']) }), /QDQ form/);
    const noMeans = new Map([...ranges].map(([k, v]) => [k, { min: v.min, max: v.max }]));
    assert.throws(() => buildMobileNetV2Int8Onnx(weights, { ranges: noMeans, biasCorrection: true }), /channel means of input_nchw/);
  });
});
