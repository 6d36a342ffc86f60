/**
 * The run files' errors, one class per file under errors/.
 *
 * @module
 */
export { DamagedPartError } from './errors/damaged-part-error.js';
export { RunFileError } from './errors/run-file-error.js';
