import type { Preprocessing } from '../images/normalize.js';

/**
 * Models this project knows by name. A file with one of these names must have the pinned sha256:
 * a truncated copy or a different network behind the same name would silently change every feature.
 */
export interface KnownModel {
  file: string;
  sha256: string;
  preprocessing: Preprocessing;
  description: string;
}

export const KERAS_FEATURES_NHWC: KnownModel = {
  file: 'mobilenet_v2_1.0_224_keras_features_nhwc.onnx',
  sha256: '73c48aa88208260d420af55414e45fdb90969286f2ff64c73d9ab6fff85bf634',
  preprocessing: 'keras',
  description: 'MobileNetV2 1.0/224, Keras ImageNet weights, NHWC input x/127.5-1, output features [N,1280]',
};

export const INT8_CLASSIFIER: KnownModel = {
  file: 'mobilenet_v2_1.0_224_int8_per_tensor.onnx',
  sha256: '479b0a378ff2503319dfd62913fde9ded309a2db5c9984bb8dfd3950b502c309',
  preprocessing: 'raw-uint8',
  description: 'MobileNetV2 int8 (STMicroelectronics) with the ImageNet 1000-class head, uint8 NHWC input',
};

export const ONNXZOO_FEATURES_NCHW: KnownModel = {
  file: 'mobilenet_v2_1.0_224_onnxzoo_features_nchw.onnx',
  sha256: 'a32d42a35010211559c0d631249d2a5a5b05addc33e85c0a57c0c0bb39322b71',
  preprocessing: 'imagenet',
  description: 'MobileNetV2 1.0/224, ONNX model zoo weights, NCHW input ImageNet mean/std, output features [N,1280]',
};

export const KNOWN_MODELS: readonly KnownModel[] = [KERAS_FEATURES_NHWC, INT8_CLASSIFIER, ONNXZOO_FEATURES_NCHW];

export const DEFAULT_MODEL = KERAS_FEATURES_NHWC;

export function knownModelByFile(file: string): KnownModel | undefined {
  return KNOWN_MODELS.find((m) => m.file === file);
}
