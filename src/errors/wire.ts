/**
 * Errors across worker threads.
 *
 * postMessage clones an Error as a plain Error: its class, `code`, `cause` and fields such as `reason` or
 * `retryAfterSeconds` are lost, so a model error raised in a pipeline thread used to reach the CLI as
 * `{ name, message }` and could not be told apart (or mapped to its exit code) by `instanceof`. A thread sends
 * `toWire(error)` instead, and the receiving side rebuilds it with `fromWire`, given the error classes it knows.
 *
 * @module
 */

/** An error as it crosses a thread boundary: structured-cloneable data only. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  cause?: WireError;
  /** The error's other own fields (reason, retryAfterSeconds, problems…), those that survive JSON. */
  fields?: Record<string, unknown>;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** Fields that toWire carries explicitly or that belong to the prototype, never copied as plain fields. */
const RESERVED = new Set(['name', 'message', 'code', 'stack', 'cause']);
/** A cause chain longer than this is cut: a cycle (a.cause = b, b.cause = a) must not loop. */
const MAX_DEPTH = 8;

/** The error as data for postMessage; a thrown non-Error (a string) becomes an Error message. */
export function toWire(error: unknown, depth = 0): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const wire: WireError = { name: error.name, message: error.message, stack: error.stack };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') wire.code = code;
  if (error.cause !== undefined && depth < MAX_DEPTH) wire.cause = toWire(error.cause, depth + 1);
  for (const [key, value] of Object.entries(error)) {
    if (RESERVED.has(key)) continue;
    try {
      const json = JSON.stringify(value);
      if (json !== undefined) (wire.fields ??= {})[key] = JSON.parse(json);
    } catch {
      // A field that does not serialise (a socket, a cycle) stays behind; the message still says what happened.
    }
  }
  return wire;
}

/**
 * Rebuilds an error sent with toWire. `known` lists the classes the receiver can rebuild, as classes or as
 * module namespaces (`import * as modelErrors from '…/model/errors.js'`): an error whose name is one of them
 * comes back as an instance of that class (instanceof works, its code and fields are kept) without calling its
 * constructor, whose parameters differ from class to class. Any other name comes back as an Error with that
 * name, code, fields and cause. The stack is the thread's, where the error was thrown.
 */
export function fromWire(wire: WireError, known: readonly (ErrorClass | Record<string, unknown>)[] = []): Error {
  const Class = classesOf(known).get(wire.name);
  const error: Error = Class ? (Object.create(Class.prototype) as Error) : new Error(wire.message);
  const define = (key: string, value: unknown) =>
    Object.defineProperty(error, key, { value, writable: true, configurable: true, enumerable: key !== 'message' && key !== 'stack' && key !== 'cause' });
  define('message', wire.message);
  define('name', wire.name);
  if (wire.code !== undefined) define('code', wire.code);
  if (wire.stack !== undefined) define('stack', wire.stack);
  if (wire.cause !== undefined) define('cause', fromWire(wire.cause, known));
  for (const [key, value] of Object.entries(wire.fields ?? {})) define(key, value);
  return error;
}

function classesOf(known: readonly (ErrorClass | Record<string, unknown>)[]): Map<string, ErrorClass> {
  const classes = new Map<string, ErrorClass>();
  const add = (value: unknown) => {
    if (typeof value === 'function' && value.prototype instanceof Error) classes.set(value.name, value as ErrorClass);
  };
  for (const entry of known) {
    if (typeof entry === 'function') add(entry);
    else for (const value of Object.values(entry)) add(value);
  }
  return classes;
}
