/**
 * The arithmetic of int8 quantisation (ONNX QuantizeLinear convention: real = (q - zeroPoint) × scale), kept apart
 * from the graph writer so it can be tested on its own.
 */

export type ActivationType = 'uint8' | 'int8';

/** Scale and zero point of one activation tensor. */
export interface QParams {
  scale: number;
  zeroPoint: number;
}

/** Observed (or chosen) real range of one activation tensor. */
export interface TensorRange {
  min: number;
  max: number;
  /** Mean of every channel (NCHW axis 1) over the calibration images, for bias correction. */
  channelMeans?: Float32Array;
}

/**
 * Asymmetric 8-bit parameters covering [min, max] (widened to include 0, so that zero — padding, ReLU — is exact).
 * uint8 maps it onto 0..255, int8 onto -128..127 (same scale, zero point shifted by 128).
 */
export function activationQParams(range: TensorRange, type: ActivationType): QParams {
  const min = Math.min(0, range.min);
  const max = Math.max(0, range.max);
  const scale = max > min ? (max - min) / 255 : 1;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-min / scale)));
  return { scale, zeroPoint: type === 'uint8' ? zeroPoint : zeroPoint - 128 };
}

export interface QuantizedWeights {
  /** int8 weights, same layout as the float ones. */
  values: Int8Array;
  /** One scale per output channel (axis 0); zero points are all 0 (symmetric). */
  scales: Float32Array;
}

/**
 * Per-output-channel symmetric int8 weights: scale_c = max|w_c| / qmax, q = round(w / scale_c).
 * qmax is 127, or 63 with `reduceRange` (7-bit weights): on AVX2 without VNNI, onnxruntime's u8×s8 kernels sum
 * pairs of products in int16 (VPMADDUBSW), which 255 × 127 × 2 can overflow and 255 × 64 × 2 cannot.
 */
export function quantizeWeightsPerChannel(weight: Float32Array, channels: number, reduceRange = false): QuantizedWeights {
  const qmax = reduceRange ? 63 : 127;
  const per = weight.length / channels;
  if (!Number.isInteger(per)) throw new Error(`${weight.length} weights do not split into ${channels} channels`);
  const values = new Int8Array(weight.length);
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    let maxAbs = 0;
    for (let i = c * per; i < (c + 1) * per; i++) maxAbs = Math.max(maxAbs, Math.abs(weight[i]));
    // An all-zero channel keeps scale 1 (its values are 0 whatever the scale), never a zero or denormal scale.
    const scale = maxAbs > 0 ? maxAbs / qmax : 1;
    scales[c] = scale;
    for (let i = c * per; i < (c + 1) * per; i++) values[i] = Math.max(-qmax, Math.min(qmax, Math.round(weight[i] / scale)));
  }
  return { values, scales };
}

/** int32 bias with scale inputScale × weightScale[c] and zero point 0, as QLinearConv (and QDQ Conv fusion) wants it. */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): { values: Int32Array; scales: Float32Array } {
  const values = new Int32Array(bias.length);
  const scales = new Float32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const scale = inputScale * weightScales[c];
    scales[c] = scale;
    values[c] = Math.max(-2147483648, Math.min(2147483647, Math.round(bias[c] / scale)));
  }
  return { values, scales };
}

/**
 * Bias correction (Nagel et al. 2019, "Data-Free Quantization", section 4.2): rounding the weights shifts the
 * expected output of channel c by Σ (Wq - W)[c,…] · E[x]; adding that shift back to the float bias removes it.
 * `inputMeans` holds E[x] per input channel (from calibration); depthwise layers read channel c only.
 * Padding at the borders is ignored (the shift is corrected for interior positions).
 */
export function correctedBias(
  weight: Float32Array,
  quantized: QuantizedWeights,
  bias: Float32Array,
  inputMeans: Float32Array,
  depthwise: boolean,
): Float32Array {
  const channels = bias.length;
  const per = weight.length / channels;
  const taps = depthwise ? per : per / inputMeans.length;
  const out = Float32Array.from(bias);
  for (let c = 0; c < channels; c++) {
    const scale = quantized.scales[c];
    let shift = 0;
    for (let k = 0; k < per; k++) {
      const i = c * per + k;
      const mean = depthwise ? inputMeans[c] : inputMeans[Math.floor(k / taps)];
      shift += (weight[i] - quantized.values[i] * scale) * mean;
    }
    out[c] += shift;
  }
  return out;
}
