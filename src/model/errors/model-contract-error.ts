import { ModelError } from './model-error.js';

/** The file is not an ONNX model the pipeline can use (inputs, shape, layout, output size), or it fails on a probe input. */
export class ModelContractError extends ModelError {
  static override readonly code: string = 'FRUITS_MODEL_CONTRACT';
}
