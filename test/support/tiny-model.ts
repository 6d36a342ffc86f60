import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { GraphBuilder } from '../../src/onnx/graph-builder.js';

/**
 * A stand-in for MobileNetV2 with the same contract (input [N,224,224,3] float32, output `features` [N,1280])
 * and no download: 32×32 average pooling to a 7×7×3 grid, a fixed pseudo-random 147→1280 projection, ReLU.
 * Colours and coarse shapes separate well, which is what the synthetic test images differ by.
 */
export function tinyModelBytes(seed = 7): Uint8Array {
  const inputs = 3 * 7 * 7;
  const weights = new Float32Array(inputs * 1280);
  let state = seed;
  for (let i = 0; i < weights.length; i++) {
    state = (state * 1664525 + 1013904223) >>> 0;
    weights[i] = (state / 0xffffffff - 0.5) * 0.2;
  }
  return new GraphBuilder('tiny-features')
    .input('input', 'float', ['N', 224, 224, 3])
    .output('features', 'float', ['N', 1280])
    .initializer('weights', weights, [inputs, 1280])
    .node('Transpose', ['input'], ['nchw'], { perm: [0, 3, 1, 2] })
    .node('AveragePool', ['nchw'], ['pooled'], { kernel_shape: [32, 32], strides: [32, 32] })
    .node('Flatten', ['pooled'], ['flat'], { axis: 1 })
    .node('MatMul', ['flat', 'weights'], ['projected'])
    .node('Relu', ['projected'], ['features'])
    .toBytes();
}

export function writeTinyModel(path: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, tinyModelBytes());
  return path;
}
