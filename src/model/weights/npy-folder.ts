import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { convLayers, onnxWeightShape, type ConvLayerSpec, type ConvWeights } from '../builder/architecture.js';
import { WeightsFolderError } from '../errors.js';
import { sha256Bytes } from '../sha256.js';
import { depthwise1hwcToC1hw, ohwiToOihw } from './layouts.js';
import { parseNpy } from './npy.js';
import type { LoadedWeights } from './source.js';

/** One entry of `layer_map.json` (written for the shared `mobilenet_v2_1.0_224_nhwc_weights/` folder). */
interface LayerMapEntry {
  layer: string;
  weight_file: string;
  bias_file: string;
  onnx_weight_shape_OIHW: number[];
  kernel: number;
  stride: number;
  group: number;
  pads_tlbr: number[];
  relu6: boolean;
}

/**
 * Reads the per-tensor `.npy` folder of the TFLite float MobileNetV2 (BatchNorm already folded into every conv):
 * `layer_map.json` says which `weights/Const_N.npy` is which layer; conv tensors are OHWI, depthwise 1HWC. The
 * geometry in `layer_map.json` (kernel, stride, group, pads, ReLU6) must agree with our architecture, layer by layer.
 */
export function loadNpyFolderWeights(folder: string): LoadedWeights {
  const root = resolve(folder);
  const mapPath = join(root, 'layer_map.json');
  if (!existsSync(mapPath)) throw new WeightsFolderError(`${root} has no layer_map.json: not a MobileNetV2 .npy weights folder`);
  const mapBytes = readFileSync(mapPath);
  const map = JSON.parse(mapBytes.toString('utf8')) as { layers?: LayerMapEntry[] };
  if (!Array.isArray(map.layers)) throw new WeightsFolderError(`${mapPath} has no "layers" list`);
  const listing: [string, string][] = [['layer_map.json', sha256Bytes(mapBytes)]];

  const layers = new Map<string, ConvWeights>();
  for (const spec of convLayers()) {
    const entry = map.layers.find((e) => e.layer === spec.slim);
    if (!entry) throw new WeightsFolderError(`${mapPath} has no entry for ${spec.slim} (Keras ${spec.id})`);
    checkGeometry(entry, spec, mapPath);
    const weightName = fileName(entry.weight_file);
    const biasName = fileName(entry.bias_file);
    const weightBytes = readTensorFile(root, weightName);
    const biasBytes = readTensorFile(root, biasName);
    listing.push([`weights/${weightName}`, sha256Bytes(weightBytes)], [`weights/${biasName}`, sha256Bytes(biasBytes)]);
    const w = parseNpy(weightBytes);
    const b = parseNpy(biasBytes);
    const weight = spec.kind === 'depthwise' ? depthwise1hwcToC1hw(w.data, w.shape) : ohwiToOihw(w.data, w.shape);
    const expected = onnxWeightShape(spec);
    const got = spec.kind === 'depthwise' ? [w.shape[3], w.shape[0], w.shape[1], w.shape[2]] : [w.shape[0], w.shape[3], w.shape[1], w.shape[2]];
    if (got.join(',') !== expected.join(',')) {
      throw new WeightsFolderError(`${weightName} (${spec.slim}) has shape [${w.shape.join(',')}], expected ONNX [${expected.join(',')}]`);
    }
    if (b.data.length !== spec.outChannels) throw new WeightsFolderError(`${biasName} has ${b.data.length} values, expected ${spec.outChannels}`);
    layers.set(spec.id, { weight, bias: b.data });
  }
  listing.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const digest = sha256Bytes(Buffer.from(listing.map(([path, hash]) => `${hash}  ${path}\n`).join('')));
  return {
    weights: { layers },
    source: {
      kind: 'npy-folder',
      path: root,
      sha256: digest,
      notes: [
        `${listing.length} files (layer_map.json + ${listing.length - 1} .npy)`,
        'BatchNorm already folded in the source (TFLite float model)',
        'conv OHWI -> OIHW, depthwise 1HWC -> C1HW',
        'no classifier: the Logits weights are not in the folder',
      ],
    },
  };
}

function fileName(described: string): string {
  // "Const_90.npy (OHWI)" → "Const_90.npy"
  return described.split(' ')[0];
}

function readTensorFile(root: string, name: string): Buffer {
  const path = join(root, 'weights', name);
  if (!existsSync(path)) throw new WeightsFolderError(`${path} is missing`);
  return readFileSync(path);
}

function checkGeometry(entry: LayerMapEntry, spec: ConvLayerSpec, mapPath: string): void {
  const group = spec.kind === 'depthwise' ? spec.outChannels : 1;
  const mismatches: string[] = [];
  if (entry.kernel !== spec.kernel) mismatches.push(`kernel ${entry.kernel} != ${spec.kernel}`);
  if (entry.stride !== spec.stride) mismatches.push(`stride ${entry.stride} != ${spec.stride}`);
  if (entry.group !== group) mismatches.push(`group ${entry.group} != ${group}`);
  if (entry.pads_tlbr.join(',') !== spec.pads.join(',')) mismatches.push(`pads [${entry.pads_tlbr}] != [${spec.pads}]`);
  if (entry.relu6 !== spec.relu6) mismatches.push(`relu6 ${entry.relu6} != ${spec.relu6}`);
  if (entry.onnx_weight_shape_OIHW.join(',') !== onnxWeightShape(spec).join(',')) {
    mismatches.push(`shape [${entry.onnx_weight_shape_OIHW}] != [${onnxWeightShape(spec)}]`);
  }
  if (mismatches.length > 0) throw new WeightsFolderError(`${mapPath}: ${spec.slim} disagrees with MobileNetV2 1.0/224: ${mismatches.join('; ')}`);
}
