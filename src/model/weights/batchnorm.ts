import { BN_EPSILON, type ConvWeights } from '../builder/architecture.js';
import { ModelWeightsError } from '../errors.js';

/** Inference-time BatchNormalization parameters of one layer, one value per channel. */
export interface BatchNormParams {
  /** γ; Keras omits it when `scale=False` (then 1). */
  gamma?: Float32Array;
  /** β; Keras omits it when `center=False` (then 0). */
  beta?: Float32Array;
  movingMean: Float32Array;
  movingVariance: Float32Array;
}

/**
 * Folds BatchNorm into the conv before it: with s = γ / √(var + ε),
 *   w'[o, …] = w[o, …] · s[o]      b'[o] = β[o] + (b[o] − mean[o]) · s[o]   (b = 0 for a conv without bias).
 * `weight` is in ONNX order with the output channel first (OIHW, or C1HW for depthwise). Computed in float64 and
 * rounded once to float32, so the folded network equals Keras' Conv → BN to float32 rounding.
 */
export function foldBatchNorm(
  weight: Float32Array,
  outChannels: number,
  bn: BatchNormParams,
  options: { bias?: Float32Array; epsilon?: number } = {},
): ConvWeights {
  const epsilon = options.epsilon ?? BN_EPSILON;
  const perChannel = weight.length / outChannels;
  if (!Number.isInteger(perChannel)) throw new ModelWeightsError(`${weight.length} weights do not split into ${outChannels} output channels`);
  for (const [name, v] of Object.entries({
    gamma: bn.gamma,
    beta: bn.beta,
    moving_mean: bn.movingMean,
    moving_variance: bn.movingVariance,
    bias: options.bias,
  })) {
    if (v && v.length !== outChannels) throw new ModelWeightsError(`BatchNorm ${name} has ${v.length} values for ${outChannels} channels`);
  }
  const folded = new Float32Array(weight.length);
  const bias = new Float32Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    const variance = bn.movingVariance[o];
    if (!(variance + epsilon > 0)) throw new ModelWeightsError(`BatchNorm moving_variance[${o}] = ${variance} makes var + ε non-positive`);
    const scale = (bn.gamma ? bn.gamma[o] : 1) / Math.sqrt(variance + epsilon);
    const base = o * perChannel;
    for (let i = 0; i < perChannel; i++) folded[base + i] = weight[base + i] * scale;
    bias[o] = (bn.beta ? bn.beta[o] : 0) + ((options.bias ? options.bias[o] : 0) - bn.movingMean[o]) * scale;
  }
  return { weight: folded, bias };
}
