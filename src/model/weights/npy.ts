import { readFileSync } from 'node:fs';
import { NpyFormatError } from '../errors.js';

/** One float32 array read from a NumPy `.npy` file, in C (row-major) order. */
export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/**
 * Reads a `.npy` file holding little-endian float32 (`<f4`) in C order: the only layout the MobileNetV2
 * weight folders use. Anything else (other dtypes, big-endian, Fortran order, object arrays) is an error,
 * never a silent conversion.
 */
export function readNpy(path: string): NpyArray {
  try {
    return parseNpy(readFileSync(path));
  } catch (error) {
    if (error instanceof NpyFormatError) throw new NpyFormatError(`${path}: ${error.message}`, { cause: error });
    throw error;
  }
}

/**
 * Format (numpy.lib.format): 6-byte magic, major and minor version bytes, header length (uint16 LE for
 * version 1, uint32 LE for versions 2 and 3), an ASCII (v3: UTF-8) Python dict literal padded with spaces and
 * ending in '\n', then the raw data.
 */
export function parseNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new NpyFormatError('not a .npy file (bad magic)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyFormatError('truncated header');
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new NpyFormatError(`unsupported .npy version ${major}.${bytes[7]}`);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) throw new NpyFormatError('truncated header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  const { descr, fortranOrder, shape } = parseHeader(header);
  if (descr !== '<f4') {
    throw new NpyFormatError(`dtype ${descr} is not supported (expected little-endian float32 '<f4')`);
  }
  if (fortranOrder && shape.length > 1) throw new NpyFormatError('Fortran-order arrays are not supported');
  const count = shape.reduce((a, b) => a * b, 1);
  const byteLength = count * 4;
  if (bytes.length - dataStart !== byteLength) {
    throw new NpyFormatError(`holds ${bytes.length - dataStart} data bytes, shape [${shape.join(',')}] needs ${byteLength}`);
  }
  // Copy into a fresh, aligned buffer: the data offset is only guaranteed to be a multiple of 16 by newer writers.
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(bytes.subarray(dataStart, dataStart + byteLength));
  return { shape, data };
}

function parseHeader(header: string): { descr: string; fortranOrder: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpyFormatError(`cannot parse header ${JSON.stringify(header.trim())}`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      if (!/^\d+L?$/.test(s)) throw new NpyFormatError(`bad shape entry ${JSON.stringify(s)}`);
      return Number.parseInt(s, 10);
    });
  return { descr, fortranOrder: fortran === 'True', shape };
}
