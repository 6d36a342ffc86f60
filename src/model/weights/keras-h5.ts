import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BN_EPSILON, CLASSES, convLayers, FEATURE_DIM, type ClassifierWeights, type ConvLayerSpec, type ConvWeights } from '../builder/architecture.js';
import { KerasWeightsError } from '../errors.js';
import { sha256File } from '../sha256.js';
import { foldBatchNorm } from './batchnorm.js';
import { hwc1ToC1hw, hwioToOihw } from './layouts.js';
import type { LoadedWeights } from './source.js';

/** One HDF5 dataset read as float32. */
interface Tensor {
  shape: number[];
  data: Float32Array;
}

/** A Keras layer's weights by short name: `kernel`, `depthwise_kernel`, `bias`, `gamma`, `beta`, `moving_mean`, `moving_variance`. */
type LayerTensors = Map<string, Tensor>;

/** Minimal structural view of the h5wasm objects this reader touches. */
interface H5Node {
  keys?: () => string[];
  get?: (path: string) => H5Node | null;
  attrs: Record<string, { value: unknown }>;
  shape?: number[] | null;
  value?: unknown;
}

/**
 * Reads the official Keras MobileNetV2 weight files (`mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5`
 * and `…_no_top.h5`, written by Keras 2 `save_weights`):
 *
 *   /                          attrs layer_names (every layer, in model order), backend, keras_version
 *   /<layer>                   attr weight_names, e.g. ["Conv1/kernel:0"]
 *   /<layer>/<weight name>     float32 dataset, e.g. /Conv1/Conv1/kernel:0
 *
 * (a full-model file has the same tree under /model_weights). Conv2D kernels are HWIO, DepthwiseConv2D kernels
 * HWC1; every conv is followed by a BatchNormalization (gamma, beta, moving_mean, moving_variance; ε = 1e-3) that is
 * folded into the conv here. The optional `predictions` Dense layer (kernel [1280,1000], bias [1000]) becomes the
 * classifier.
 *
 * Layers are found by their Keras names; a file whose names differ (other Keras versions) is read the way Keras'
 * own `load_weights` reads it: layers that hold weights, in file order, with every shape checked.
 */
export async function loadKerasH5Weights(file: string): Promise<LoadedWeights> {
  const path = resolve(file);
  if (!existsSync(path)) throw new KerasWeightsError(`${path} does not exist`);
  const sha256 = await sha256File(path);
  // Loaded on demand: compiling the HDF5 wasm costs ~0.1 s that `fruits extract` should not pay on every start.
  const { default: h5wasm } = await import('h5wasm/node');
  await h5wasm.ready;
  let h5: InstanceType<typeof h5wasm.File>;
  try {
    h5 = new h5wasm.File(path, 'r');
  } catch (error) {
    throw new KerasWeightsError(`${path} is not a readable HDF5 file: ${(error as Error).message}`, { cause: error });
  }
  try {
    const root = weightsRoot(h5 as unknown as H5Node);
    const tensors = resolveLayers(root, path);
    const layers = new Map<string, ConvWeights>();
    for (const spec of convLayers()) {
      const conv = tensors.get(spec.id)!;
      const bn = tensors.get(spec.bn)!;
      layers.set(spec.id, foldLayer(spec, conv, bn, path));
    }
    const classifier = readClassifier(tensors.get('predictions'), path);
    return {
      weights: { layers, classifier },
      source: {
        kind: 'keras-h5',
        path,
        sha256,
        notes: [
          `BatchNorm folded by fruits (epsilon ${BN_EPSILON}): w' = w*gamma/sqrt(var+eps), b' = beta - mean*gamma/sqrt(var+eps)`,
          'Conv2D kernel HWIO -> OIHW, DepthwiseConv2D kernel HWC1 -> C1HW',
          classifier ? `classifier: predictions Dense ${FEATURE_DIM}->${classifier.classes} -> output "logits"` : 'no classifier (no_top file)',
        ],
      },
    };
  } finally {
    h5.close();
  }
}

function weightsRoot(file: H5Node): H5Node {
  const keys = file.keys?.() ?? [];
  if (keys.includes('model_weights')) {
    const group = file.get?.('model_weights');
    if (group) return group;
  }
  return file;
}

/** Keras layer name → its tensors, for every conv, BatchNorm and (when present) `predictions` layer we need. */
function resolveLayers(root: H5Node, path: string): Map<string, LayerTensors> {
  const specs = convLayers();
  const wanted = specs.flatMap((s) => [s.id, s.bn]);
  const byName = new Map<string, LayerTensors>();
  const fileOrder: [string, LayerTensors][] = [];
  for (const name of layerNames(root)) {
    const tensors = readLayer(root, name);
    if (tensors.size === 0) continue;
    byName.set(name, tensors);
    fileOrder.push([name, tensors]);
  }
  if (wanted.every((name) => byName.has(name))) return byName;

  // Keras `load_weights(by_name=False)` semantics: the i-th layer with weights in the file is the i-th in the model.
  const expectedCount = wanted.length;
  if (fileOrder.length !== expectedCount && fileOrder.length !== expectedCount + 1) {
    const missing = wanted.filter((n) => !byName.has(n)).slice(0, 5);
    throw new KerasWeightsError(
      `${path} is not a Keras MobileNetV2 1.0 weight file: no layer ${missing.join(', ')}… and ${fileOrder.length} layers with ` +
        `weights where MobileNetV2 has ${expectedCount} (or ${expectedCount + 1} with the classifier)`,
    );
  }
  const positional = new Map<string, LayerTensors>();
  wanted.forEach((name, i) => positional.set(name, fileOrder[i][1]));
  if (fileOrder.length === expectedCount + 1) positional.set('predictions', fileOrder[expectedCount][1]);
  return positional;
}

function layerNames(root: H5Node): string[] {
  const attr = root.attrs['layer_names']?.value;
  if (Array.isArray(attr)) return attr.map(String);
  return root.keys?.() ?? [];
}

function readLayer(root: H5Node, layer: string): LayerTensors {
  const tensors: LayerTensors = new Map();
  const group = root.get?.(layer);
  if (!group) return tensors;
  const names = group.attrs['weight_names']?.value;
  const weightNames = Array.isArray(names) ? names.map(String) : datasetPaths(group);
  for (const name of weightNames) {
    const dataset = group.get?.(name);
    if (!dataset || dataset.value === undefined) throw new KerasWeightsError(`layer ${layer}: weight ${name} is listed but missing`);
    tensors.set(shortName(name), toTensor(dataset, `${layer}/${name}`));
  }
  return tensors;
}

/** Datasets under a group, for files without `weight_names` attributes. */
function datasetPaths(group: H5Node, prefix = ''): string[] {
  const out: string[] = [];
  for (const key of group.keys?.() ?? []) {
    const child = group.get?.(key);
    if (!child) continue;
    if (child.keys) out.push(...datasetPaths(child, `${prefix}${key}/`));
    else out.push(`${prefix}${key}`);
  }
  return out;
}

/** "block_1_expand/kernel:0" → "kernel". */
function shortName(weightName: string): string {
  const last = weightName.split('/').pop()!;
  return last.replace(/:\d+$/, '');
}

function toTensor(dataset: H5Node, where: string): Tensor {
  const value = dataset.value;
  const shape = dataset.shape ?? [];
  let data: Float32Array;
  if (value instanceof Float32Array) data = value;
  else if (value instanceof Float64Array) data = Float32Array.from(value);
  else throw new KerasWeightsError(`${where} is not a float tensor`);
  return { shape, data };
}

function need(tensors: LayerTensors, name: string, shape: number[], where: string): Float32Array {
  const t = tensors.get(name);
  if (!t) throw new KerasWeightsError(`${where}: no ${name} (has ${[...tensors.keys()].join(', ') || 'nothing'})`);
  if (t.shape.join(',') !== shape.join(',')) {
    throw new KerasWeightsError(`${where}: ${name} has shape [${t.shape.join(',')}], expected [${shape.join(',')}]`);
  }
  return t.data;
}

function foldLayer(spec: ConvLayerSpec, conv: LayerTensors, bn: LayerTensors, path: string): ConvWeights {
  const where = `${path}: layer ${spec.id}`;
  const k = spec.kernel;
  let weight: Float32Array;
  if (spec.kind === 'depthwise') {
    const shape = [k, k, spec.inChannels, 1];
    weight = hwc1ToC1hw(need(conv, 'depthwise_kernel', shape, where), shape);
  } else {
    const shape = [k, k, spec.inChannels, spec.outChannels];
    weight = hwioToOihw(need(conv, 'kernel', shape, where), shape);
  }
  const c = [spec.outChannels];
  const bias = conv.has('bias') ? need(conv, 'bias', c, where) : undefined;
  const bnWhere = `${path}: layer ${spec.bn}`;
  return foldBatchNorm(
    weight,
    spec.outChannels,
    {
      gamma: bn.has('gamma') ? need(bn, 'gamma', c, bnWhere) : undefined,
      beta: bn.has('beta') ? need(bn, 'beta', c, bnWhere) : undefined,
      movingMean: need(bn, 'moving_mean', c, bnWhere),
      movingVariance: need(bn, 'moving_variance', c, bnWhere),
    },
    { bias, epsilon: BN_EPSILON },
  );
}

function readClassifier(tensors: LayerTensors | undefined, path: string): ClassifierWeights | undefined {
  if (!tensors) return undefined;
  const kernel = tensors.get('kernel');
  const classes = kernel?.shape[1] ?? CLASSES;
  const where = `${path}: layer predictions`;
  return {
    kernel: need(tensors, 'kernel', [FEATURE_DIM, classes], where),
    bias: need(tensors, 'bias', [classes], where),
    classes,
  };
}
