import { GraphBuilder } from '../../onnx/graph-builder.js';
import {
  checkWeights,
  FEATURE_DIM,
  INPUT_SIZE,
  MOBILENET_V2,
  onnxWeightShape,
  type ConvLayerSpec,
  type MobileNetV2Spec,
  type MobileNetV2Weights,
} from './architecture.js';
import { FEATURES_NAME, INPUT_NAME, PREPROCESSING, reluName, withMetadata } from './mobilenet-v2-graph.js';
import {
  activationQParams,
  correctedBias,
  quantizeBias,
  quantizeWeightsPerChannel,
  type ActivationType,
  type QParams,
  type TensorRange,
} from './quantization.js';

/** Bumped whenever the int8 graph this module writes changes; recorded in the model metadata and the sidecar. */
export const INT8_BUILDER_VERSION = 'fruits-mobilenet-v2-int8-builder/1';

/**
 * `qdq`: float ops wrapped in QuantizeLinear/DequantizeLinear pairs, which onnxruntime's graph optimizer fuses into
 * QLinearConv / QLinearAdd. `qoperator`: QLinearConv and com.microsoft QLinearAdd written directly.
 */
export type Int8Form = 'qdq' | 'qoperator';

export interface Int8GraphOptions {
  /** Real range of every tensor in `quantizedTensors()`, from calibration. */
  ranges: Map<string, TensorRange>;
  form?: Int8Form;
  activations?: ActivationType;
  /** 7-bit weights (see quantizeWeightsPerChannel): everywhere, or only for convs whose input zero point is not 0. */
  reduceRange?: boolean | 'asymmetric-inputs';
  /** Tensors of quantizedTensors() left float (a conv reading one quantises its own copy). QDQ form only. */
  floatTensors?: Set<string>;
  /** Conv layers (Keras ids) computed in float. QDQ form only. */
  floatLayers?: Set<string>;
  /** Correct each conv's bias for the mean shift its weight rounding causes (needs calibrated channel means). */
  biasCorrection?: boolean;
  metadata?: Record<string, string>;
}

/**
 * The float tensors (names as in the fp32 graph of mobilenet-v2-graph.ts) that the int8 graph quantises, i.e. the
 * tensors calibration must measure: the NCHW input, every ReLU6 output but the last (`out_relu`), every project
 * output and every residual sum. The head (Conv_1 320→1280 + ReLU6 + pooling) is left float: its input is the
 * dequantised `block_16_project_BN`, so the 1280-d features carry no rounding of their own.
 */
export function quantizedTensors(spec: MobileNetV2Spec = MOBILENET_V2): string[] {
  const names = ['input_nchw', reluName(spec.stem)];
  for (const block of spec.blocks) {
    if (block.expand) names.push(reluName(block.expand));
    names.push(reluName(block.depthwise), block.project.bn);
    if (block.residual) names.push(`block_${block.id}_add`);
  }
  return names;
}

/**
 * What the faithful scheme keeps float: the stem and block 0 (Conv1 3×3 and the 32-channel depthwise + project at
 * 112×112, ≈ 21 M of the ≈ 300 M multiply-adds). Measured on 27 Fruits-360 sample images, rounding only the weights of
 * `expanded_conv_depthwise` already drops the mean feature cosine to 0.970, only those of `expanded_conv_project` to
 * 0.993, and only the 8-bit input to 0.997; every other single layer or tensor costs ≤ 0.005.
 */
export const FAITHFUL_FLOAT_LAYERS: readonly string[] = ['Conv1', 'expanded_conv_depthwise', 'expanded_conv_project'];
export const FAITHFUL_FLOAT_TENSORS: readonly string[] = ['input_nchw', 'Conv1_relu', 'expanded_conv_depthwise_relu', 'expanded_conv_project_BN'];

/**
 * The scheme that keeps the features close to fp32 (mean cosine ≥ 0.99 on the Fruits-360 sample, see README): QDQ,
 * uint8 activations, stem and block 0 float, bias correction, 7-bit weights where a conv's input has a zero point.
 * That last rule keeps AVX2's int16 pair sums from saturating: every conv int8 with 8-bit weights gives a mean
 * cosine of 0.960 with onnxruntime's optimiser off (float arithmetic on the rounded values) but 0.780 through its
 * u8s8 kernels; with the rule, 0.949 (106 sample images). Bias correction then takes the faithful graph from 0.982
 * to 0.994.
 */
export function faithfulInt8Options(ranges: Map<string, TensorRange>): Int8GraphOptions {
  return {
    ranges,
    form: 'qdq',
    activations: 'uint8',
    reduceRange: 'asymmetric-inputs',
    floatLayers: new Set(FAITHFUL_FLOAT_LAYERS),
    floatTensors: new Set(FAITHFUL_FLOAT_TENSORS),
    biasCorrection: true,
  };
}

/**
 * Writes the int8 MobileNetV2 1.0/224 feature extractor: same input ([N,224,224,3] float, Keras [-1,1]) and output
 * (`features` [N,1280] float) as the fp32 graph, so the rest of the pipeline opens it the same way.
 * Weights: per-output-channel symmetric int8; biases int32 (scale = input scale × weight scale);
 * activations: uint8 (or int8) with asymmetric scales from `ranges`. ReLU6 is folded into the output quantisation
 * (zero point at 0, top of range ≤ 6), so no Clip node stands between a conv and its quantiser.
 */
export function buildMobileNetV2Int8Onnx(weights: MobileNetV2Weights, options: Int8GraphOptions): Uint8Array {
  checkWeights(weights);
  const spec = MOBILENET_V2;
  const form = options.form ?? 'qdq';
  const actType = options.activations ?? 'uint8';
  const floatTensors = options.floatTensors ?? new Set<string>();
  const floatLayers = options.floatLayers ?? new Set<string>();
  if (form === 'qoperator' && (floatTensors.size > 0 || floatLayers.size > 0)) {
    throw new Error('the QOperator form quantises every tensor; float tensors or layers need the QDQ form');
  }
  const g = new GraphBuilder('mobilenet_v2_1.0_224_keras_nhwc_features_int8')
    .input(INPUT_NAME, 'float', ['N', INPUT_SIZE, INPUT_SIZE, 3])
    .output(FEATURES_NAME, 'float', ['N', FEATURE_DIM]);
  if (form === 'qoperator') g.importOpset('com.microsoft', 1);
  g.initializer('clip_min', new Float32Array([0]), []).initializer('clip_max', new Float32Array([6]), []);

  const qparams = new Map<string, QParams>();
  /** The quantisation parameters of a float tensor, as initializers `<name>/scale` and `<name>/zero_point`. */
  const paramsOf = (name: string, rangeOf: string, relu6: boolean): QParams => {
    const known = qparams.get(name);
    if (known) return known;
    const range = options.ranges.get(rangeOf);
    if (!range) throw new Error(`no calibrated range for tensor ${rangeOf}`);
    // ReLU6 outputs: [0, min(max, 6)]; the quantiser's saturation then does the clipping.
    const p = activationQParams(relu6 ? { min: 0, max: Math.min(6, range.max) } : range, actType);
    g.initializer(`${name}/scale`, new Float32Array([p.scale]), []);
    g.initializer(`${name}/zero_point`, actType === 'uint8' ? new Uint8Array([p.zeroPoint]) : new Int8Array([p.zeroPoint]), []);
    qparams.set(name, p);
    return p;
  };
  const scaleZp = (name: string): [string, string] => [`${name}/scale`, `${name}/zero_point`];

  /** Quantised tensor `<name>_q` (and, in QDQ form, its dequantised float `<name>`). */
  const quantize = (floatIn: string, name: string, rangeOf: string, relu6: boolean): void => {
    paramsOf(name, rangeOf, relu6);
    g.node('QuantizeLinear', [floatIn, ...scaleZp(name)], [`${name}_q`]);
    if (form === 'qdq') g.node('DequantizeLinear', [`${name}_q`, ...scaleZp(name)], [name]);
  };
  /** The name of a quantised copy of tensor `name` (itself when it is quantised already). */
  const quantizedInput = (name: string): string => {
    if (qparams.has(name)) return name;
    const q = `${name}_conv_input`;
    if (!qparams.has(q)) quantize(name, q, name, false);
    return q;
  };
  /** Calibrated tensor a quantised conv input stands for (`x_conv_input` is a copy of `x`). */
  const sourceOf = (qin: string): string => qin.replace(/_conv_input$/, '');

  const attributesOf = (layer: ConvLayerSpec) => ({
    kernel_shape: [layer.kernel, layer.kernel],
    strides: [layer.stride, layer.stride],
    pads: layer.pads,
    group: layer.kind === 'depthwise' ? layer.outChannels : 1,
    dilations: [1, 1],
  });
  const floatConv = (layer: ConvLayerSpec, input: string, output: string): void => {
    const w = weights.layers.get(layer.id)!;
    g.initializer(`${layer.id}/weights`, w.weight, onnxWeightShape(layer)).initializer(`${layer.id}/bias`, w.bias, [layer.outChannels]);
    const linear = layer.relu6 ? `${layer.bn}_out` : output;
    g.node('Conv', [input, `${layer.id}/weights`, `${layer.id}/bias`], [linear], attributesOf(layer));
    if (layer.relu6) g.node('Clip', [linear, 'clip_min', 'clip_max'], [output]);
  };

  /** A conv from tensor `input` to tensor `output` (the float name its consumers read; `<output>_q` when quantised). */
  const conv = (layer: ConvLayerSpec, input: string, output: string): void => {
    if (floatLayers.has(layer.id)) {
      floatConv(layer, input, floatTensors.has(output) ? output : `${output}_float`);
      if (!floatTensors.has(output)) quantize(`${output}_float`, output, output, layer.relu6);
      return;
    }
    const w = weights.layers.get(layer.id)!;
    const qin = quantizedInput(input);
    const inP = qparams.get(qin)!;
    // 7-bit weights where the input has a zero point above the bottom of the range (see quantizeWeightsPerChannel).
    const reduce = options.reduceRange === true || (options.reduceRange === 'asymmetric-inputs' && inP.zeroPoint !== (actType === 'uint8' ? 0 : -128));
    const qw = quantizeWeightsPerChannel(w.weight, layer.outChannels, reduce);
    const means = options.ranges.get(sourceOf(qin))?.channelMeans;
    if (options.biasCorrection && !means) throw new Error(`bias correction needs the channel means of ${sourceOf(qin)}`);
    const bias = options.biasCorrection ? correctedBias(w.weight, qw, w.bias, means!, layer.kind === 'depthwise') : w.bias;
    const qb = quantizeBias(bias, inP.scale, qw.scales);
    const id = layer.id;
    g.initializer(`${id}/weights_q`, qw.values, onnxWeightShape(layer))
      .initializer(`${id}/weights_scale`, qw.scales, [layer.outChannels])
      .initializer(`${id}/weights_zero_point`, new Int8Array(layer.outChannels), [layer.outChannels])
      .initializer(`${id}/bias_q`, qb.values, [layer.outChannels]);
    if (form === 'qoperator') {
      paramsOf(output, output, layer.relu6);
      g.node(
        'QLinearConv',
        [`${qin}_q`, ...scaleZp(qin), `${id}/weights_q`, `${id}/weights_scale`, `${id}/weights_zero_point`, ...scaleZp(output), `${id}/bias_q`],
        [`${output}_q`],
        attributesOf(layer),
      );
      return;
    }
    g.initializer(`${id}/bias_scale`, qb.scales, [layer.outChannels]).initializer(`${id}/bias_zero_point`, new Int32Array(layer.outChannels), [
      layer.outChannels,
    ]);
    g.node('DequantizeLinear', [`${id}/weights_q`, `${id}/weights_scale`, `${id}/weights_zero_point`], [`${id}/weights`], { axis: 0 });
    g.node('DequantizeLinear', [`${id}/bias_q`, `${id}/bias_scale`, `${id}/bias_zero_point`], [`${id}/bias`], { axis: 0 });
    if (floatTensors.has(output)) {
      // No quantiser after this conv: onnxruntime cannot fuse it into QLinearConv, so it runs in float.
      const linear = layer.relu6 ? `${layer.bn}_out` : output;
      g.node('Conv', [qin, `${id}/weights`, `${id}/bias`], [linear], attributesOf(layer));
      if (layer.relu6) g.node('Clip', [linear, 'clip_min', 'clip_max'], [output]);
      return;
    }
    const linear = layer.relu6 ? `${layer.bn}_out` : `${output}_float`;
    g.node('Conv', [qin, `${id}/weights`, `${id}/bias`], [linear], attributesOf(layer));
    quantize(linear, output, output, layer.relu6);
  };

  const add = (a: string, b: string, output: string): void => {
    if (form === 'qoperator') {
      paramsOf(output, output, false);
      g.node('QLinearAdd', [`${a}_q`, ...scaleZp(a), `${b}_q`, ...scaleZp(b), ...scaleZp(output)], [`${output}_q`], {}, 'com.microsoft');
      return;
    }
    if (floatTensors.has(output)) {
      g.node('Add', [a, b], [output]);
      return;
    }
    g.node('Add', [a, b], [`${output}_float`]);
    quantize(`${output}_float`, output, output, false);
  };

  g.node('Transpose', [INPUT_NAME], ['input_nchw_float'], { perm: [0, 3, 1, 2] });
  if (floatTensors.has('input_nchw')) g.node('Identity', ['input_nchw_float'], ['input_nchw']);
  else quantize('input_nchw_float', 'input_nchw', 'input_nchw', false);
  let x = 'input_nchw';
  const step = (layer: ConvLayerSpec): void => {
    const out = layer.relu6 ? reluName(layer) : layer.bn;
    conv(layer, x, out);
    x = out;
  };
  step(spec.stem);
  for (const block of spec.blocks) {
    const blockInput = x;
    if (block.expand) step(block.expand);
    step(block.depthwise);
    step(block.project);
    if (block.residual) {
      const sum = `block_${block.id}_add`;
      add(blockInput, x, sum);
      x = sum;
    }
  }
  // The head stays float (see quantizedTensors); QOperator form dequantises its input explicitly.
  if (form === 'qoperator') g.node('DequantizeLinear', [`${x}_q`, ...scaleZp(x)], [x]);
  floatConv(spec.head, x, reluName(spec.head));
  g.node('GlobalAveragePool', [reluName(spec.head)], ['global_average_pooling2d']);
  g.node('Flatten', ['global_average_pooling2d'], [FEATURES_NAME], { axis: 1 });
  const reduceRange =
    options.reduceRange === true ? ' 7-bit' : options.reduceRange === 'asymmetric-inputs' ? ' (7-bit where the input zero point is not 0)' : '';
  return withMetadata(g.toBytes(), {
    preprocessing: PREPROCESSING,
    builder: INT8_BUILDER_VERSION,
    precision: 'int8',
    quantization:
      `${form}, weights int8 per-channel symmetric${reduceRange}, activations ${actType} per-tensor asymmetric` +
      `${floatTensors.size ? `, float tensors ${[...floatTensors].join(' ')}` : ''}${floatLayers.size ? `, float layers ${[...floatLayers].join(' ')}` : ''}, head Conv_1 + pooling float`,
    outputs: `${FEATURES_NAME} [N,${FEATURE_DIM}]`,
    ...options.metadata,
  });
}
