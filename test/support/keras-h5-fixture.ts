import h5wasm from 'h5wasm/node';
import { BN_EPSILON, convLayers, FEATURE_DIM, onnxWeightShape, type MobileNetV2Weights } from '../../src/model/builder/architecture.js';
import { transpose } from '../../src/model/weights/layouts.js';

/**
 * Writes a weight file in the Keras 2 `save_weights` layout of MobileNetV2 (what the official
 * `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224*.h5` files hold) from already-folded weights, by
 * "unfolding" each conv into kernel + BatchNorm:
 *
 * - `bn: 'identity'`: γ = 1, β = bias, mean = 0, var = 1 − ε. Folding gives back the very same float32 weights.
 * - `bn: 'random'`: γ, mean, var drawn at random (seeded), kernel = w / s and β = b + mean·s with s = γ/√(var+ε),
 *   so folding must undo a non-trivial BatchNorm (equal to the input weights up to float32 rounding).
 *
 * `layerName` renames layers (to test files whose names differ from the Keras ones); `weightless` adds layers without
 * weights to `layer_names`, as real files have (input_1, Conv1_relu, …).
 */
export interface KerasH5FixtureOptions {
  bn: 'identity' | 'random';
  seed?: number;
  classifier?: { kernel: Float32Array; bias: Float32Array };
  layerName?: (kerasName: string) => string;
  /** Replace a conv layer's kernel dataset (by Keras layer name) with this data and shape: for broken files. */
  kernelOverride?: Record<string, { data: Float32Array; shape: number[] }>;
}

export async function writeKerasH5(path: string, weights: MobileNetV2Weights, options: KerasH5FixtureOptions): Promise<void> {
  await h5wasm.ready;
  const rename = options.layerName ?? ((n: string) => n);
  let state = options.seed ?? 1;
  const uniform = (lo: number, hi: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return lo + (state / 2 ** 32) * (hi - lo);
  };
  const file = new h5wasm.File(path, 'w');
  try {
    const layerNames: string[] = ['input_1'];
    const addLayer = (name: string, tensors: [string, Float32Array, number[]][]): void => {
      layerNames.push(name);
      const group = file.create_group(name);
      const weightNames = tensors.map(([short]) => `${name}/${short}:0`);
      group.create_attribute('weight_names', weightNames, null, `S${Math.max(...weightNames.map((n) => n.length))}`);
      const inner = group.create_group(name);
      for (const [short, data, shape] of tensors) inner.create_dataset({ name: `${short}:0`, data, shape, dtype: '<f' });
    };
    const addWeightless = (name: string): void => {
      layerNames.push(name);
      file.create_group(name).create_attribute('weight_names', [], null, 'S1');
    };
    file.create_group('input_1').create_attribute('weight_names', [], null, 'S1');

    for (const spec of convLayers()) {
      const folded = weights.layers.get(spec.id)!;
      const n = spec.outChannels;
      const gamma = new Float32Array(n);
      const beta = new Float32Array(n);
      const mean = new Float32Array(n);
      const variance = new Float32Array(n);
      const kernelOihw = new Float32Array(folded.weight.length);
      const perChannel = folded.weight.length / n;
      for (let o = 0; o < n; o++) {
        if (options.bn === 'identity') {
          gamma[o] = 1;
          mean[o] = 0;
          variance[o] = 1 - BN_EPSILON;
        } else {
          gamma[o] = uniform(0.5, 2);
          mean[o] = uniform(-1, 1);
          variance[o] = uniform(0.05, 3);
        }
        const scale = gamma[o] / Math.sqrt(variance[o] + BN_EPSILON);
        for (let i = 0; i < perChannel; i++) kernelOihw[o * perChannel + i] = folded.weight[o * perChannel + i] / scale;
        beta[o] = folded.bias[o] + mean[o] * scale;
      }
      const [o, i, h, w] = onnxWeightShape(spec);
      const override = options.kernelOverride?.[spec.id];
      if (override) {
        addLayer(rename(spec.id), [[spec.kind === 'depthwise' ? 'depthwise_kernel' : 'kernel', override.data, override.shape]]);
      } else if (spec.kind === 'depthwise') {
        // C1HW → HWC1
        addLayer(rename(spec.id), [['depthwise_kernel', transpose(kernelOihw, [o, i, h, w], [2, 3, 0, 1]), [h, w, o, 1]]]);
      } else {
        // OIHW → HWIO
        addLayer(rename(spec.id), [['kernel', transpose(kernelOihw, [o, i, h, w], [2, 3, 1, 0]), [h, w, i, o]]]);
      }
      addLayer(rename(spec.bn), [
        ['gamma', gamma, [n]],
        ['beta', beta, [n]],
        ['moving_mean', mean, [n]],
        ['moving_variance', variance, [n]],
      ]);
      addWeightless(`${rename(spec.bn)}_relu`);
    }
    if (options.classifier) {
      addWeightless('global_average_pooling2d');
      const classes = options.classifier.bias.length;
      addLayer(rename('predictions'), [
        ['kernel', options.classifier.kernel, [FEATURE_DIM, classes]],
        ['bias', options.classifier.bias, [classes]],
      ]);
    }
    file.create_attribute('layer_names', layerNames, null, `S${Math.max(...layerNames.map((n) => n.length))}`);
    file.create_attribute('backend', 'tensorflow');
    file.create_attribute('keras_version', '2.1.6');
  } finally {
    file.close();
  }
}
