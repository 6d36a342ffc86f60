/**
 * The classifier layer's errors, one class per file under errors/.
 *
 * @module
 */
export { ClassifierError } from './errors/classifier-error.js';
export { ClassifierClosedError } from './errors/classifier-closed-error.js';
export { QueueFullError } from './errors/queue-full-error.js';
export { RunModelMismatchError } from './errors/run-model-mismatch-error.js';
export { RunNotReadyError } from './errors/run-not-ready-error.js';
