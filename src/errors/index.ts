/**
 * The errors every layer builds on: the base class with its stable `code` and `cause`, and their transport
 * across worker threads.
 *
 * @module
 */
export { FruitsError, InvalidOptionError, type FruitsErrorOptions } from './fruits-error.js';
export { fromWire, toWire, type WireError } from './wire.js';
