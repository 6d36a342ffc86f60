import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelVerificationError } from '../errors.js';
import { readNpy } from '../weights/npy.js';
import { FEATURE_DIM, INPUT_SIZE } from './architecture.js';
import { compareGolden, kerasNormalize, REFERENCE_GOLDEN, SYNTHETIC_GOLDEN, syntheticInput, type GoldenComparison } from './golden.js';

export interface TensorDescription {
  name: string;
  type: string;
  shape: (number | string)[];
}

export interface GoldenCheck {
  name: 'reference' | 'synthetic';
  /** `skipped` when the check could not run here (e.g. no test_data_set on this machine), with the reason. */
  status: 'passed' | 'failed' | 'skipped';
  reason?: string;
  input?: string;
  comparison?: GoldenComparison;
}

export interface VerificationReport {
  checkedAt: string;
  onnxruntime: string;
  inputs: TensorDescription[];
  outputs: TensorDescription[];
  /** The graph has the Keras NHWC feature contract: float32 input [N,224,224,3] and `features` [N,1280]. */
  contract: { passed: boolean; problem?: string };
  checks: GoldenCheck[];
  /** Contract holds, no check failed and at least one golden check ran. */
  passed: boolean;
}

export const REFERENCE_INPUT_RELATIVE = join('test_data_set', '0', 'input_0.npy');
export const NHWC_WEIGHTS_FOLDER = 'mobilenet_v2_1.0_224_nhwc_weights';

/**
 * Where the reference input of the SOURCES.md golden numbers can be found on this machine: inside an `.npy`
 * weights folder, or in FRUITS_MODEL_DIR (the shared models folder). Undefined on a stranger's machine.
 */
export function findReferenceInput(options: { weightsFolder?: string; env?: NodeJS.ProcessEnv } = {}): string | undefined {
  const env = options.env ?? process.env;
  const candidates = [
    options.weightsFolder && join(options.weightsFolder, REFERENCE_INPUT_RELATIVE),
    env.FRUITS_MODEL_DIR && join(env.FRUITS_MODEL_DIR, NHWC_WEIGHTS_FOLDER, REFERENCE_INPUT_RELATIVE),
  ];
  return candidates.find((p): p is string => Boolean(p) && existsSync(p as string));
}

/**
 * Opens the model with onnxruntime (CPU, one thread), checks its contract and runs the golden checks:
 * the synthetic input always, the SOURCES.md reference input when `referenceInput` is given.
 */
export async function verifyModel(model: string | Uint8Array, options: { referenceInput?: string } = {}): Promise<VerificationReport> {
  const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  const session =
    typeof model === 'string' ? await ort.InferenceSession.create(model, sessionOptions) : await ort.InferenceSession.create(model, sessionOptions);
  try {
    const describe = (m: ort.InferenceSession.ValueMetadata): TensorDescription =>
      m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] };
    const inputs = session.inputMetadata.map(describe);
    const outputs = session.outputMetadata.map(describe);
    const problem = contractProblem(inputs, outputs);
    const report: VerificationReport = {
      checkedAt: new Date().toISOString(),
      onnxruntime: ort.env.versions.node ?? 'unknown',
      inputs,
      outputs,
      contract: problem ? { passed: false, problem } : { passed: true },
      checks: [],
      passed: false,
    };
    if (problem) return report; // golden numbers exist for the Keras NHWC feature extractor only
    const runFeatures = async (x: Float32Array): Promise<Float32Array> => {
      const out = await session.run({ [inputs[0].name]: new ort.Tensor('float32', x, [1, INPUT_SIZE, INPUT_SIZE, 3]) }, ['features']);
      return out.features.data as Float32Array;
    };
    const synthetic = compareGolden(await runFeatures(syntheticInput()), SYNTHETIC_GOLDEN);
    report.checks.push({ name: 'synthetic', status: synthetic.passed ? 'passed' : 'failed', input: 'syntheticInput()', comparison: synthetic });
    if (options.referenceInput && existsSync(options.referenceInput)) {
      const pixels = readNpy(options.referenceInput);
      if (pixels.data.length !== INPUT_SIZE * INPUT_SIZE * 3) {
        throw new ModelVerificationError(`${options.referenceInput} has shape [${pixels.shape.join(',')}], expected [1,224,224,3]`);
      }
      const reference = compareGolden(await runFeatures(kerasNormalize(pixels.data)), REFERENCE_GOLDEN);
      report.checks.push({ name: 'reference', status: reference.passed ? 'passed' : 'failed', input: options.referenceInput, comparison: reference });
    } else {
      report.checks.push({
        name: 'reference',
        status: 'skipped',
        reason: options.referenceInput
          ? `${options.referenceInput} not found`
          : `no ${REFERENCE_INPUT_RELATIVE} on this machine (it comes with the ${NHWC_WEIGHTS_FOLDER} folder)`,
      });
    }
    report.passed = report.checks.every((c) => c.status !== 'failed') && report.checks.some((c) => c.status === 'passed');
    return report;
  } finally {
    await session.release();
  }
}

function contractProblem(inputs: TensorDescription[], outputs: TensorDescription[]): string | undefined {
  if (inputs.length !== 1) return `${inputs.length} inputs`;
  const [input] = inputs;
  const [, h, w, c] = input.shape;
  if (input.type !== 'float32' || input.shape.length !== 4 || h !== INPUT_SIZE || w !== INPUT_SIZE || c !== 3) {
    return `input ${input.name} is ${input.type} [${input.shape.join(',')}], not float32 [N,${INPUT_SIZE},${INPUT_SIZE},3]`;
  }
  const features = outputs.find((o) => o.name === 'features');
  if (!features) return `no output "features" (outputs: ${outputs.map((o) => o.name).join(', ')})`;
  if (features.type !== 'float32' || features.shape[features.shape.length - 1] !== FEATURE_DIM) {
    return `output features is ${features.type} [${features.shape.join(',')}], not float32 [N,${FEATURE_DIM}]`;
  }
  return undefined;
}

/** One line per check, for error messages and `fruits model info`. */
export function describeChecks(report: VerificationReport): string[] {
  const lines: string[] = [];
  if (!report.contract.passed) lines.push(`golden checks: not run, not the Keras NHWC feature contract (${report.contract.problem})`);
  for (const check of report.checks) {
    if (check.status === 'skipped') {
      lines.push(`${check.name}: skipped (${check.reason})`);
      continue;
    }
    const c = check.comparison!;
    const detail =
      `norm ${c.actual.l2Norm.toFixed(4)} (expected ${c.expected.l2Norm}), sum ${c.actual.sum.toFixed(4)} (expected ${c.expected.sum}), ` +
      `worst deviation ${c.worst.toFixed(3)}× tolerance`;
    lines.push(`${check.name}: ${check.status === 'passed' ? 'passed' : 'FAILED'} — ${detail}`);
  }
  return lines;
}
