import { basename } from 'node:path';
import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { Preprocessing, TensorLayout } from '../images/normalize.js';
import { ModelContractError, ModelNotFoundError } from './errors.js';
import { knownModelByFile } from './known-models.js';
import { verifyModelFile } from './verify.js';

export const FEATURE_DIM = 1280;
export const INPUT_SIZE = 224;

/** What a run needs to know about its model; written into the manifest. */
export interface ModelInfo {
  path: string;
  sha256: string;
  inputName: string;
  outputName: string;
  layout: TensorLayout;
  preprocessing: Exclude<Preprocessing, 'raw-uint8'>;
  inputSize: number;
  featureDim: number;
}

export interface OpenOptions {
  /** onnxruntime intra-op threads for this session. */
  threads?: number;
  /** When given (e.g. by a coordinator), the file must have exactly this sha256. */
  expectedSha256?: string;
  preprocessing?: Exclude<Preprocessing, 'raw-uint8'>;
}

/**
 * One onnxruntime session that turns a batch of normalised images into pooled 1280-d features.
 * Opening checks the file, its sha256 and its input/output contract, so a wrong model fails before any work.
 */
export class FeatureExtractor {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly info: ModelInfo,
  ) {}

  static async open(path: string, options: OpenOptions = {}): Promise<FeatureExtractor> {
    if (!existsSync(path)) throw new ModelNotFoundError(`model file not found: ${path}`);
    const sha256 = await verifyModelFile(path, options.expectedSha256);
    const known = knownModelByFile(basename(path));
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, {
        intraOpNumThreads: options.threads ?? 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
      });
    } catch (error) {
      throw new ModelContractError(`cannot load ${path} as an ONNX model: ${(error as Error).message}`, { cause: error });
    }
    const info = describeContract(session, path, sha256, options.preprocessing ?? defaultPreprocessing(known?.preprocessing));
    const extractor = new FeatureExtractor(session, info);
    await extractor.probe();
    return extractor;
  }

  /** Runs `count` images laid out contiguously in `batch`; returns count × featureDim floats. */
  async extract(batch: Float32Array, count: number): Promise<Float32Array> {
    const { inputSize: s, layout } = this.info;
    const dims = layout === 'nhwc' ? [count, s, s, 3] : [count, 3, s, s];
    const input = new ort.Tensor('float32', batch.subarray(0, count * s * s * 3), dims);
    const outputs = await this.session.run({ [this.info.inputName]: input });
    const out = outputs[this.info.outputName];
    const data = out.data as Float32Array;
    if (data.length !== count * this.info.featureDim) {
      throw new ModelContractError(`model returned ${data.length} values for ${count} images (dims ${out.dims.join('×')})`);
    }
    return data;
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  /** The graph's declared shapes can be symbolic; one real image-sized run proves the output is [1, featureDim]. */
  private async probe(): Promise<void> {
    const { inputSize: s } = this.info;
    const result = await this.extract(new Float32Array(s * s * 3), 1).catch((error: Error) => {
      throw new ModelContractError(`model ${this.info.path} failed on a 1×${s}×${s}×3 probe input: ${error.message}`, { cause: error });
    });
    if (!result.every(Number.isFinite)) throw new ModelContractError(`model ${this.info.path} returns non-finite features`);
  }
}

function defaultPreprocessing(known: Preprocessing | undefined): Exclude<Preprocessing, 'raw-uint8'> {
  return known === 'imagenet' ? 'imagenet' : 'keras';
}

function describeContract(session: ort.InferenceSession, path: string, sha256: string, preprocessing: ModelInfo['preprocessing']): ModelInfo {
  const fix = `The pipeline needs a MobileNetV2 feature extractor: one float32 input [N,${INPUT_SIZE},${INPUT_SIZE},3] (or [N,3,${INPUT_SIZE},${INPUT_SIZE}]) and an output "features" [N,${FEATURE_DIM}].`;
  if (session.inputNames.length !== 1) {
    throw new ModelContractError(`model ${path} has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}). ${fix}`);
  }
  const input = session.inputMetadata[0];
  if (!input.isTensor || input.type !== 'float32' || input.shape.length !== 4) {
    const got = input.isTensor ? `${input.type} [${input.shape.join(',')}]` : 'a non-tensor';
    throw new ModelContractError(`model ${path} input "${input.name}" is ${got}. ${fix}`);
  }
  const [, d1, d2, d3] = input.shape;
  let layout: TensorLayout;
  if (d3 === 3 && isSizeOrSymbolic(d1) && isSizeOrSymbolic(d2)) layout = 'nhwc';
  else if (d1 === 3 && isSizeOrSymbolic(d2) && isSizeOrSymbolic(d3)) layout = 'nchw';
  else throw new ModelContractError(`model ${path} input "${input.name}" has shape [${input.shape.join(',')}]. ${fix}`);

  const outputName = session.outputNames.includes('features') ? 'features' : session.outputNames[0];
  const output = session.outputMetadata[session.outputNames.indexOf(outputName)];
  const last = output.isTensor ? output.shape[output.shape.length - 1] : undefined;
  if (!output.isTensor || output.type !== 'float32' || (typeof last === 'number' && last !== FEATURE_DIM)) {
    const got = output.isTensor ? `${output.type} [${output.shape.join(',')}]` : 'a non-tensor';
    throw new ModelContractError(
      `model ${path} output "${outputName}" is ${got}, not the ${FEATURE_DIM}-d pooled features ` +
        `(a classifier with 1000 logits is the wrong model). ${fix}`,
    );
  }
  return { path, sha256, inputName: input.name, outputName, layout, preprocessing, inputSize: INPUT_SIZE, featureDim: FEATURE_DIM };
}

function isSizeOrSymbolic(d: number | string): boolean {
  return typeof d === 'string' || d === INPUT_SIZE || d === -1;
}
