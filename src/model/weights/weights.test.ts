import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { convLayers, MOBILENET_V2, onnxWeightShape } from '../builder/architecture.js';
import { foldBatchNorm } from './batchnorm.js';
import { depthwise1hwcToC1hw, hwc1ToC1hw, hwioToOihw, ohwiToOihw, transpose } from './layouts.js';
import { NpyFormatError } from '../errors.js';
import { parseNpy } from './npy.js';

/** A .npy file as numpy.save writes it (header padded so the data starts at a multiple of 64). */
function npyBytes(header: string, data: Uint8Array, version: 1 | 2 = 1): Uint8Array {
  const prefix = version === 1 ? 10 : 12;
  let text = header;
  while ((prefix + text.length + 1) % 64 !== 0) text += ' ';
  text += '\n';
  const out = new Uint8Array(prefix + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(new TextEncoder().encode(text), prefix);
  out.set(data, prefix + text.length);
  return out;
}

const f32 = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);

describe('.npy reader', () => {
  test('reads <f4 C-order arrays, version 1 and 2 headers, scalars and 1-d shapes', () => {
    const a = parseNpy(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f32([1, 2, 3, 4, 5, 6])));
    assert.deepEqual(a.shape, [2, 3]);
    assert.deepEqual([...a.data], [1, 2, 3, 4, 5, 6]);
    const b = parseNpy(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f32([0.5, -1, 7]), 2));
    assert.deepEqual(b.shape, [3]);
    assert.deepEqual([...b.data], [0.5, -1, 7]);
    const c = parseNpy(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f32([42])));
    assert.deepEqual(c.shape, []);
    assert.deepEqual([...c.data], [42]);
  });

  test('refuses what it cannot read faithfully: other dtypes, Fortran order, wrong sizes, bad magic', () => {
    const bad = [
      npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)),
      npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)),
      npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new Uint8Array(16)),
      npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", new Uint8Array(12)),
      new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
    ];
    for (const bytes of bad) assert.throws(() => parseNpy(bytes), NpyFormatError);
  });
});

describe('weight layouts', () => {
  test('transpose moves every element where the permutation says', () => {
    const shape = [2, 3, 4];
    const data = Float32Array.from({ length: 24 }, (_, i) => i);
    const out = transpose(data, shape, [2, 0, 1]); // out[k][i][j] = in[i][j][k]
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) assert.equal(out[k * 6 + i * 3 + j], data[i * 12 + j * 4 + k]);
  });

  test('OHWI, HWIO → OIHW and 1HWC, HWC1 → C1HW agree element by element', () => {
    const [O, I, H, W] = [5, 3, 2, 2];
    const value = (o: number, i: number, h: number, w: number): number => o * 1000 + i * 100 + h * 10 + w;
    const ohwi = new Float32Array(O * H * W * I);
    const hwio = new Float32Array(O * H * W * I);
    for (let o = 0; o < O; o++)
      for (let i = 0; i < I; i++)
        for (let h = 0; h < H; h++)
          for (let w = 0; w < W; w++) {
            ohwi[((o * H + h) * W + w) * I + i] = value(o, i, h, w);
            hwio[((h * W + w) * I + i) * O + o] = value(o, i, h, w);
          }
    const a = ohwiToOihw(ohwi, [O, H, W, I]);
    const b = hwioToOihw(hwio, [H, W, I, O]);
    for (let o = 0; o < O; o++)
      for (let i = 0; i < I; i++)
        for (let h = 0; h < H; h++)
          for (let w = 0; w < W; w++) {
            const at = ((o * I + i) * H + h) * W + w;
            assert.equal(a[at], value(o, i, h, w));
            assert.equal(b[at], value(o, i, h, w));
          }
    const C = 4;
    const dw1hwc = new Float32Array(H * W * C);
    const dwHwc1 = new Float32Array(H * W * C);
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) dw1hwc[(h * W + w) * C + c] = dwHwc1[(h * W + w) * C + c] = value(c, 0, h, w);
    const d1 = depthwise1hwcToC1hw(dw1hwc, [1, H, W, C]);
    const d2 = hwc1ToC1hw(dwHwc1, [H, W, C, 1]);
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) {
          assert.equal(d1[(c * H + h) * W + w], value(c, 0, h, w));
          assert.equal(d2[(c * H + h) * W + w], value(c, 0, h, w));
        }
  });
});

describe('BatchNorm folding', () => {
  test('conv with folded weights = conv → BatchNorm (ε = 1e-3), computed directly on a 3×3 conv', () => {
    let state = 99;
    const rand = (lo: number, hi: number): number => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return lo + (state / 2 ** 32) * (hi - lo);
    };
    const [O, I, K] = [4, 3, 3];
    const weight = Float32Array.from({ length: O * I * K * K }, () => rand(-1, 1));
    const bn = {
      gamma: Float32Array.from({ length: O }, () => rand(0.2, 2)),
      beta: Float32Array.from({ length: O }, () => rand(-1, 1)),
      movingMean: Float32Array.from({ length: O }, () => rand(-2, 2)),
      movingVariance: Float32Array.from({ length: O }, () => rand(0.01, 4)),
    };
    const folded = foldBatchNorm(weight, O, bn, { epsilon: 1e-3 });
    const patch = Float64Array.from({ length: I * K * K }, () => rand(-1, 1)); // one receptive field
    for (let o = 0; o < O; o++) {
      let conv = 0;
      let convFolded = 0;
      for (let j = 0; j < I * K * K; j++) {
        conv += weight[o * I * K * K + j] * patch[j];
        convFolded += folded.weight[o * I * K * K + j] * patch[j];
      }
      const keras = (bn.gamma[o] * (conv - bn.movingMean[o])) / Math.sqrt(bn.movingVariance[o] + 1e-3) + bn.beta[o];
      assert.ok(Math.abs(convFolded + folded.bias[o] - keras) < 1e-5, `channel ${o}: ${convFolded + folded.bias[o]} vs ${keras}`);
    }
  });

  test('identity BatchNorm (γ=1, β=b, mean=0, var=1−ε) gives back the exact float32 weights', () => {
    const weight = Float32Array.from({ length: 64 }, (_, i) => Math.fround(Math.sin(i) * 3));
    const bias = Float32Array.from({ length: 4 }, (_, i) => Math.fround(i - 1.5));
    const folded = foldBatchNorm(weight, 4, {
      gamma: new Float32Array(4).fill(1),
      beta: bias,
      movingMean: new Float32Array(4),
      movingVariance: new Float32Array(4).fill(1 - 1e-3),
    });
    assert.deepEqual(folded.weight, weight);
    assert.deepEqual(folded.bias, bias);
  });
});

describe('MobileNetV2 1.0/224 architecture', () => {
  test('52 convs, 17 blocks, residual adds on Keras blocks 2,4,5,7,8,9,11,12,14,15, TF SAME padding', () => {
    const layers = convLayers();
    assert.equal(layers.length, 52);
    assert.equal(MOBILENET_V2.blocks.length, 17);
    assert.deepEqual(
      MOBILENET_V2.blocks.filter((b) => b.residual).map((b) => b.id),
      [2, 4, 5, 7, 8, 9, 11, 12, 14, 15],
    );
    for (const l of layers) {
      if (l.kernel === 3 && l.stride === 2) assert.deepEqual(l.pads, [0, 0, 1, 1], l.id);
      if (l.kernel === 3 && l.stride === 1) assert.deepEqual(l.pads, [1, 1, 1, 1], l.id);
    }
    assert.deepEqual(
      layers.filter((l) => l.stride === 2).map((l) => l.id),
      ['Conv1', 'block_1_depthwise', 'block_3_depthwise', 'block_6_depthwise', 'block_13_depthwise'],
    );
    assert.equal(layers.filter((l) => l.relu6).length, 35); // = the 35 Clip nodes of the prebuilt graph
    // Keras MobileNetV2(include_top=False).summary(): 2,257,984 params, 34,112 non-trainable (BN moving mean + variance,
    // 2 per channel). Folded, each BN's 4 values per channel become 1 bias: 2,257,984 − 3 × 17,056.
    const channels = layers.reduce((n, l) => n + l.outChannels, 0);
    assert.equal(channels * 2, 34_112);
    const params = layers.reduce((n, l) => n + onnxWeightShape(l).reduce((a, b) => a * b, 1) + l.outChannels, 0);
    assert.equal(params, 2_257_984 - 3 * channels);
    assert.equal(MOBILENET_V2.head.id, 'Conv_1');
    assert.equal(MOBILENET_V2.blocks[0].expand, undefined);
    assert.equal(MOBILENET_V2.blocks[0].depthwise.id, 'expanded_conv_depthwise');
    assert.equal(MOBILENET_V2.blocks[16].project.bn, 'block_16_project_BN');
  });
});
