import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { activationQParams, correctedBias, quantizeBias, quantizeWeightsPerChannel } from './quantization.js';

describe('int8 quantisation arithmetic', () => {
  test('activation parameters: ReLU ranges get zero point 0 (uint8) / -128 (int8); [-1, 1] is centred', () => {
    assert.deepEqual(activationQParams({ min: 0, max: 6 }, 'uint8'), { scale: 6 / 255, zeroPoint: 0 });
    assert.deepEqual(activationQParams({ min: 0, max: 6 }, 'int8'), { scale: 6 / 255, zeroPoint: -128 });
    const centred = activationQParams({ min: -1, max: 1 }, 'uint8');
    assert.equal(centred.scale, 2 / 255);
    assert.equal(centred.zeroPoint, 128);
    // A range that excludes 0 is widened to include it (zero padding must be exact).
    assert.deepEqual(activationQParams({ min: 2, max: 5.1 }, 'uint8'), { scale: 5.1 / 255, zeroPoint: 0 });
    // A constant-zero tensor gets a usable scale, never 0.
    assert.equal(activationQParams({ min: 0, max: 0 }, 'uint8').scale, 1);
  });

  test('weights: per output channel, the largest magnitude maps to ±127 (±63 with reduceRange); an all-zero channel stays 0', () => {
    const w = new Float32Array([0.6, -1, 0.25, /* channel 1 */ 0.01, 0.03, -0.04, /* channel 2 */ 0, 0, 0]);
    const q = quantizeWeightsPerChannel(w, 3);
    assert.deepEqual(Array.from(q.values), [76, -127, 32, 32, 95, -127, 0, 0, 0]);
    assert.ok(Math.abs(q.scales[0] - 1 / 127) < 1e-9 && Math.abs(q.scales[1] - 0.04 / 127) < 1e-9);
    assert.equal(q.scales[2], 1);
    const reduced = quantizeWeightsPerChannel(w, 3, true);
    assert.deepEqual(Array.from(reduced.values.slice(0, 3)), [38, -63, 16]);
    assert.throws(() => quantizeWeightsPerChannel(w, 4), /do not split into 4 channels/);
  });

  test('bias: int32 at scale input × weight scale', () => {
    const b = quantizeBias(new Float32Array([0.5, -0.25]), 0.01, new Float32Array([0.1, 0.5]));
    assert.deepEqual(Array.from(b.values), [500, -50]);
    assert.ok(Math.abs(b.scales[0] - 0.001) < 1e-9 && Math.abs(b.scales[1] - 0.005) < 1e-9); // float32 scales
  });

  test('bias correction makes the rounded layer exact on the mean input (1×1 conv and depthwise)', () => {
    // 1×1 conv, 2 output channels × 3 input channels.
    const w = new Float32Array([0.013, -0.7, 0.301, 0.9, 0.0041, -0.333]);
    const bias = new Float32Array([0.1, -0.2]);
    const means = new Float32Array([1.5, 0.2, 3]);
    const q = quantizeWeightsPerChannel(w, 2);
    const fixed = correctedBias(w, q, bias, means, false);
    for (let c = 0; c < 2; c++) {
      let exact = bias[c];
      let rounded = fixed[c];
      for (let i = 0; i < 3; i++) {
        exact += w[c * 3 + i] * means[i];
        rounded += q.values[c * 3 + i] * q.scales[c] * means[i];
      }
      assert.ok(Math.abs(exact - rounded) < 1e-6, `channel ${c}: ${exact} vs ${rounded}`);
    }
    // Depthwise 3×3: channel c reads input channel c only.
    const dw = Float32Array.from({ length: 18 }, (_, i) => Math.sin(i * 1.7) * 0.3);
    const qd = quantizeWeightsPerChannel(dw, 2);
    const fixedDw = correctedBias(dw, qd, new Float32Array(2), new Float32Array([2, -1]), true);
    for (let c = 0; c < 2; c++) {
      let shift = 0;
      for (let k = 0; k < 9; k++) shift += (dw[c * 9 + k] - qd.values[c * 9 + k] * qd.scales[c]) * (c === 0 ? 2 : -1);
      assert.ok(Math.abs(fixedDw[c] - shift) < 1e-7);
    }
  });
});
