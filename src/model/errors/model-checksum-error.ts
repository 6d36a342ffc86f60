import { ModelError } from './model-error.js';

/** The model file does not have the sha256 it must have (pinned, recorded by the run, or in its sidecar). */
export class ModelChecksumError extends ModelError {
  static override readonly code: string = 'FRUITS_MODEL_CHECKSUM';
}
