/**
 * The error classes a pipeline or reduce thread can raise, for fromWire: a thread's model, storage, decoding or
 * PCA error reaches the engine's caller as that class (so the CLI gives it its exit code), not as an Error
 * carrying its name.
 *
 * @module
 */
import type { WireError } from '../errors/wire.js';
import { fromWire } from '../errors/wire.js';
import * as imageErrors from '../images/errors.js';
import * as modelErrors from '../model/errors.js';
import * as pipelineErrors from '../pipeline/errors.js';
import * as storageErrors from '../storage/errors.js';
import * as engineErrors from './errors.js';

const KNOWN = [modelErrors, storageErrors, imageErrors, pipelineErrors, engineErrors];

/** The error a thread sent with toWire, rebuilt as its class where the engines know it. */
export function threadError(wire: WireError): Error {
  return fromWire(wire, KNOWN);
}
