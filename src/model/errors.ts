/**
 * The model layer's errors, one class per file under errors/. Every one is a ModelError, so a caller (the CLI's
 * exit code 4) can treat "the model cannot be used" as one case and still tell the reasons apart by `code`.
 *
 * @module
 */
export { ModelError } from './errors/model-error.js';
export { ModelChecksumError } from './errors/model-checksum-error.js';
export { ModelContractError } from './errors/model-contract-error.js';
export { ModelNotFoundError } from './errors/model-not-found-error.js';
export { ModelVerificationError } from './errors/model-verification-error.js';
export { ModelWeightsError } from './errors/model-weights-error.js';
export { DownloadError, type DownloadFailure } from './errors/download-error.js';
export { KerasWeightsError } from './errors/keras-weights-error.js';
export { NpyFormatError } from './errors/npy-format-error.js';
export { WeightsFolderError } from './errors/weights-folder-error.js';
