import onnxProto from 'onnx-proto';
import { GraphBuilder } from '../../onnx/graph-builder.js';
import { checkWeights, FEATURE_DIM, INPUT_SIZE, MOBILENET_V2, onnxWeightShape, type ConvLayerSpec, type MobileNetV2Weights } from './architecture.js';

/** Bumped whenever the graph this module writes changes; recorded in the model metadata and the sidecar. */
export const BUILDER_VERSION = 'fruits-mobilenet-v2-builder/1';

export const INPUT_NAME = 'input';
export const FEATURES_NAME = 'features';
export const LOGITS_NAME = 'logits';

/**
 * Keras `mobilenet_v2.preprocess_input` (mode "tf"). It is NOT part of the graph: callers feed already
 * normalised pixels, exactly like the prebuilt `mobilenet_v2_1.0_224_keras_features_nhwc.onnx`.
 */
export const PREPROCESSING = 'RGB, resize to 224x224, float32 NHWC, x/127.5 - 1 (Keras mobilenet_v2.preprocess_input); not folded into the graph';

export interface GraphOptions {
  /** Extra `metadata_props` (source of the weights…); the builder adds preprocessing and its version. */
  metadata?: Record<string, string>;
}

/**
 * Writes MobileNetV2 1.0/224 as ONNX (IR 8, opset 13), node for node the same graph as the prebuilt
 * `mobilenet_v2_1.0_224_keras_features_nhwc.onnx` (which onnxruntime therefore runs identically):
 *
 *   input [N,224,224,3] NHWC → Transpose → NCHW
 *   Conv1 3×3/2 → Clip(0,6)
 *   17 inverted residual blocks: [expand 1×1 → Clip] → depthwise 3×3 (group = C) → Clip → project 1×1 (linear)
 *                                [+ block input when stride 1 and channels match]
 *   Conv_1 1×1 320→1280 → Clip → GlobalAveragePool → Flatten → `features` [N,1280]
 *   (+ when the weights hold the Keras classifier: Gemm 1280→1000 → `logits` [N,1000]; softmax(logits) is what
 *    Keras `MobileNetV2(include_top=True)` returns as `predictions`.)
 *
 * Every conv carries its bias (BatchNorm folded in by the weight readers). TF "SAME" padding is explicit `pads`.
 * Intermediate tensors are named after the Keras layers (`block_3_expand_relu`, `block_5_add`, `out_relu`, …).
 */
export function buildMobileNetV2Onnx(weights: MobileNetV2Weights, options: GraphOptions = {}): Uint8Array {
  checkWeights(weights);
  const spec = MOBILENET_V2;
  const classifier = weights.classifier;
  const g = new GraphBuilder('mobilenet_v2_1.0_224_keras_nhwc_features')
    .input(INPUT_NAME, 'float', ['N', INPUT_SIZE, INPUT_SIZE, 3])
    .output(FEATURES_NAME, 'float', ['N', FEATURE_DIM]);
  if (classifier) g.output(LOGITS_NAME, 'float', ['N', classifier.classes]);
  g.initializer('clip_min', new Float32Array([0]), []).initializer('clip_max', new Float32Array([6]), []);

  const conv = (layer: ConvLayerSpec, input: string): string => {
    const w = weights.layers.get(layer.id)!;
    g.initializer(`${layer.id}/weights`, w.weight, onnxWeightShape(layer)).initializer(`${layer.id}/bias`, w.bias, [layer.outChannels]);
    const linear = layer.relu6 ? `${layer.bn}_out` : layer.bn;
    g.node('Conv', [input, `${layer.id}/weights`, `${layer.id}/bias`], [linear], {
      kernel_shape: [layer.kernel, layer.kernel],
      strides: [layer.stride, layer.stride],
      pads: layer.pads,
      group: layer.kind === 'depthwise' ? layer.outChannels : 1,
      dilations: [1, 1],
    });
    if (!layer.relu6) return linear;
    const activated = reluName(layer);
    g.node('Clip', [linear, 'clip_min', 'clip_max'], [activated]);
    return activated;
  };

  g.node('Transpose', [INPUT_NAME], ['input_nchw'], { perm: [0, 3, 1, 2] });
  let x = conv(spec.stem, 'input_nchw');
  for (const block of spec.blocks) {
    const blockInput = x;
    if (block.expand) x = conv(block.expand, x);
    x = conv(block.depthwise, x);
    x = conv(block.project, x);
    if (block.residual) {
      const sum = `block_${block.id}_add`;
      g.node('Add', [blockInput, x], [sum]);
      x = sum;
    }
  }
  x = conv(spec.head, x);
  g.node('GlobalAveragePool', [x], ['global_average_pooling2d']);
  g.node('Flatten', ['global_average_pooling2d'], [FEATURES_NAME], { axis: 1 });
  if (classifier) {
    g.initializer('predictions/kernel', classifier.kernel, [FEATURE_DIM, classifier.classes]);
    g.initializer('predictions/bias', classifier.bias, [classifier.classes]);
    g.node('Gemm', [FEATURES_NAME, 'predictions/kernel', 'predictions/bias'], [LOGITS_NAME]);
  }
  return withMetadata(g.toBytes(), {
    preprocessing: PREPROCESSING,
    builder: BUILDER_VERSION,
    outputs: classifier ? `${FEATURES_NAME} [N,${FEATURE_DIM}], ${LOGITS_NAME} [N,${classifier.classes}] (pre-softmax)` : `${FEATURES_NAME} [N,${FEATURE_DIM}]`,
    ...options.metadata,
  });
}

/** Keras names of the ReLU6 layers: `Conv1_relu`, `block_N_expand_relu`, `…_depthwise_relu`, `out_relu`. */
export function reluName(layer: ConvLayerSpec): string {
  if (layer.id === 'Conv1') return 'Conv1_relu';
  if (layer.id === 'Conv_1') return 'out_relu';
  return `${layer.id}_relu`;
}

/** GraphBuilder has no metadata_props; set them on the encoded model (protobuf encoding is deterministic). */
export function withMetadata(bytes: Uint8Array, metadata: Record<string, string>): Uint8Array {
  const { onnx } = onnxProto;
  const model = onnx.ModelProto.decode(bytes);
  model.metadataProps = Object.entries(metadata).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }));
  return onnx.ModelProto.encode(model).finish();
}
