/**
 * Weight layout conversions to the ONNX Conv layout OIHW (depthwise: C,1,H,W).
 *
 * - TFLite / `.npy` folder: conv OHWI, depthwise 1HWC.
 * - Keras `.h5`: Conv2D kernel HWIO, DepthwiseConv2D depthwise_kernel HWCM (M = depth multiplier, 1 here).
 *
 * @module
 */

import { ModelWeightsError } from '../errors.js';

/** Generic N-d transpose of a C-order array: out[i_perm[0], i_perm[1], …] = in[i_0, i_1, …]. */
export function transpose(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const rank = shape.length;
  if (perm.length !== rank || [...perm].sort().some((p, i) => p !== i)) throw new ModelWeightsError(`bad permutation [${perm}] for rank ${rank}`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new ModelWeightsError(`${data.length} values for shape [${shape.join(',')}]`);
  const inStrides = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]);
  // Stride in the input for each output axis, so one odometer walk over the output does the whole copy.
  const walk = perm.map((p) => inStrides[p]);
  const out = new Float32Array(count);
  const index = new Array<number>(rank).fill(0);
  let source = 0;
  for (let o = 0; o < count; o++) {
    out[o] = data[source];
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]++;
      source += walk[axis];
      if (index[axis] < outShape[axis]) break;
      source -= walk[axis] * outShape[axis];
      index[axis] = 0;
    }
  }
  return out;
}

function stridesOf(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** TFLite conv weights [O,H,W,I] → [O,I,H,W]. */
export function ohwiToOihw(data: Float32Array, shape: number[]): Float32Array {
  expectRank(shape, 4, 'OHWI');
  return transpose(data, shape, [0, 3, 1, 2]);
}

/** TFLite depthwise weights [1,H,W,C] → [C,1,H,W]. */
export function depthwise1hwcToC1hw(data: Float32Array, shape: number[]): Float32Array {
  expectRank(shape, 4, '1HWC');
  if (shape[0] !== 1) throw new ModelWeightsError(`depthwise weights [${shape.join(',')}] must have a leading 1 (1HWC)`);
  return transpose(data, shape, [3, 0, 1, 2]);
}

/** Keras Conv2D kernel [H,W,I,O] → [O,I,H,W]. */
export function hwioToOihw(data: Float32Array, shape: number[]): Float32Array {
  expectRank(shape, 4, 'HWIO');
  return transpose(data, shape, [3, 2, 0, 1]);
}

/** Keras DepthwiseConv2D kernel [H,W,C,1] → [C,1,H,W] (depth multiplier 1 only). */
export function hwc1ToC1hw(data: Float32Array, shape: number[]): Float32Array {
  expectRank(shape, 4, 'HWCM');
  if (shape[3] !== 1) throw new ModelWeightsError(`depthwise kernel [${shape.join(',')}] has depth multiplier ${shape[3]}, expected 1`);
  return transpose(data, shape, [2, 3, 0, 1]);
}

function expectRank(shape: number[], rank: number, layout: string): void {
  if (shape.length !== rank) throw new ModelWeightsError(`expected a ${layout} tensor, got shape [${shape.join(',')}]`);
}
