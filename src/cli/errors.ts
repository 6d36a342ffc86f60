/**
 * The CLI's own errors, one class per file under errors/ (the layers' errors live in their layers).
 *
 * @module
 */
export { ListenError } from './errors/listen-error.js';
export { UsageError } from './errors/usage-error.js';
