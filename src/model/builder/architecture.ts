/**
 * MobileNetV2 1.0/224 (Sandler et al. 2018) as Keras `tf.keras.applications.MobileNetV2` builds it, written out
 * layer by layer so the ONNX builder and both weight readers agree on names, shapes and geometry.
 *
 * Names are the Keras layer names (`Conv1`, `expanded_conv_depthwise`, `block_1_expand`, …, `Conv_1`), which are
 * also the group names inside the official Keras `.h5` weight files; `slim` is the TF-slim scope the TFLite model
 * (and the per-tensor `.npy` folder) uses for the same layer.
 *
 * Padding is TF "SAME" for a 224×224 input: 3×3 stride 1 pads 1 on every side; 3×3 stride 2 (always on an even
 * input size here) pads 0 top/left and 1 bottom/right — the same as Keras `correct_pad` + `valid`.
 *
 * @module
 */

import { ModelWeightsError } from '../errors.js';

export const INPUT_SIZE = 224;
export const FEATURE_DIM = 1280;
/** Keras ImageNet head: Dense 1280 → 1000 (no background class). */
export const CLASSES = 1000;
/** Keras BatchNormalization epsilon for every MobileNetV2 layer. */
export const BN_EPSILON = 1e-3;

export type ConvKind = 'conv' | 'depthwise';

export interface ConvLayerSpec {
  /** Keras Conv2D / DepthwiseConv2D layer name. */
  id: string;
  /** Keras BatchNormalization layer that follows it. */
  bn: string;
  /** TF-slim scope of the same layer (TFLite / `.npy` folder names). */
  slim: string;
  kind: ConvKind;
  inChannels: number;
  outChannels: number;
  kernel: 1 | 3;
  stride: 1 | 2;
  /** ONNX `pads`: [top, left, bottom, right]. */
  pads: [number, number, number, number];
  relu6: boolean;
}

export interface InvertedResidualSpec {
  /** Keras block_id: 0 is `expanded_conv_*` (no expansion), 1..16 are `block_<id>_*`. */
  id: number;
  expand?: ConvLayerSpec;
  depthwise: ConvLayerSpec;
  project: ConvLayerSpec;
  /** Output = block input + project output (stride 1 and equal channel counts). */
  residual: boolean;
}

export interface MobileNetV2Spec {
  stem: ConvLayerSpec;
  blocks: InvertedResidualSpec[];
  head: ConvLayerSpec;
}

/** [expansion t, output channels c, repeats n, first stride s] — table 2 of the paper, alpha 1.0. */
const STAGES: [number, number, number, 1 | 2][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

function samePads(kernel: 1 | 3, stride: 1 | 2): [number, number, number, number] {
  if (kernel === 1) return [0, 0, 0, 0];
  return stride === 1 ? [1, 1, 1, 1] : [0, 0, 1, 1];
}

function layer(
  id: string,
  bn: string,
  slim: string,
  kind: ConvKind,
  inChannels: number,
  outChannels: number,
  kernel: 1 | 3,
  stride: 1 | 2,
  relu6: boolean,
): ConvLayerSpec {
  return { id, bn, slim, kind, inChannels, outChannels, kernel, stride, pads: samePads(kernel, stride), relu6 };
}

function buildSpec(): MobileNetV2Spec {
  const stem = layer('Conv1', 'bn_Conv1', 'MobilenetV2/Conv', 'conv', 3, 32, 3, 2, true);
  const blocks: InvertedResidualSpec[] = [];
  let channels = 32;
  let id = 0;
  for (const [t, c, n, s] of STAGES) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const prefix = id === 0 ? 'expanded_conv_' : `block_${id}_`;
      const slim = id === 0 ? 'MobilenetV2/expanded_conv' : `MobilenetV2/expanded_conv_${id}`;
      const hidden = channels * t;
      const expand = id === 0 ? undefined : layer(`${prefix}expand`, `${prefix}expand_BN`, `${slim}/expand`, 'conv', channels, hidden, 1, 1, true);
      const depthwise = layer(`${prefix}depthwise`, `${prefix}depthwise_BN`, `${slim}/depthwise`, 'depthwise', hidden, hidden, 3, stride, true);
      const project = layer(`${prefix}project`, `${prefix}project_BN`, `${slim}/project`, 'conv', hidden, c, 1, 1, false);
      blocks.push({ id, expand, depthwise, project, residual: stride === 1 && channels === c });
      channels = c;
      id++;
    }
  }
  const head = layer('Conv_1', 'Conv_1_bn', 'MobilenetV2/Conv_1', 'conv', channels, FEATURE_DIM, 1, 1, true);
  return { stem, blocks, head };
}

export const MOBILENET_V2: MobileNetV2Spec = buildSpec();

/** Every conv layer in execution order (52 for MobileNetV2 1.0). */
export function convLayers(spec: MobileNetV2Spec = MOBILENET_V2): ConvLayerSpec[] {
  const out = [spec.stem];
  for (const block of spec.blocks) {
    if (block.expand) out.push(block.expand);
    out.push(block.depthwise, block.project);
  }
  out.push(spec.head);
  return out;
}

/** ONNX Conv weight shape: OIHW, or (C,1,H,W) for a depthwise layer (group = C). */
export function onnxWeightShape(layer: ConvLayerSpec): [number, number, number, number] {
  const inPerGroup = layer.kind === 'depthwise' ? 1 : layer.inChannels;
  return [layer.outChannels, inPerGroup, layer.kernel, layer.kernel];
}

/** Folded weights of one conv layer, ready for ONNX: `weight` in onnxWeightShape order, one bias per output channel. */
export interface ConvWeights {
  weight: Float32Array;
  bias: Float32Array;
}

/** The Keras ImageNet classifier: Dense kernel [FEATURE_DIM, classes] row-major (Keras layout) and bias [classes]. */
export interface ClassifierWeights {
  kernel: Float32Array;
  bias: Float32Array;
  classes: number;
}

/** Everything the builder needs, keyed by Keras layer id; BatchNorm already folded in. */
export interface MobileNetV2Weights {
  layers: Map<string, ConvWeights>;
  classifier?: ClassifierWeights;
}

/** Throws when a layer is missing or has the wrong number of values: checked before any graph is written. */
export function checkWeights(weights: MobileNetV2Weights, spec: MobileNetV2Spec = MOBILENET_V2): void {
  for (const layer of convLayers(spec)) {
    const w = weights.layers.get(layer.id);
    if (!w) throw new ModelWeightsError(`weights for layer ${layer.id} are missing`);
    const expected = onnxWeightShape(layer).reduce((a, b) => a * b, 1);
    if (w.weight.length !== expected) throw new ModelWeightsError(`layer ${layer.id}: ${w.weight.length} weights, expected ${expected}`);
    if (w.bias.length !== layer.outChannels) throw new ModelWeightsError(`layer ${layer.id}: ${w.bias.length} biases, expected ${layer.outChannels}`);
  }
  const c = weights.classifier;
  if (c && (c.kernel.length !== FEATURE_DIM * c.classes || c.bias.length !== c.classes)) {
    throw new ModelWeightsError(`classifier: kernel of ${c.kernel.length} and bias of ${c.bias.length} values for ${c.classes} classes`);
  }
}
