/**
 * The engines' common errors, one class per file under errors/ (the BullMQ engine's own are in bullmq/errors/).
 *
 * @module
 */
export { RunAbortedError } from './errors/run-aborted-error.js';
export { WorkerTaskError } from './errors/worker-task-error.js';
