import type { Rng } from './rng.js';

/**
 * Adds `amplitude` × value noise (lattice values in [-1, 1], smoothstep-interpolated) of the given cell size to
 * `field` (width×height). Per-column and per-row taps are computed once, so an octave costs a few operations per pixel.
 * `stretchX`/`stretchY` make anisotropic noise (wood grain, brushed metal, threads).
 */
export function addValueNoise(field: Float32Array, width: number, height: number, rng: Rng, cell: number, amplitude: number, stretchX = 1, stretchY = 1): void {
  const cx = Math.max(1, cell * stretchX);
  const cy = Math.max(1, cell * stretchY);
  const gw = Math.ceil(width / cx) + 2;
  const gh = Math.ceil(height / cy) + 2;
  const lattice = new Float32Array(gw * gh);
  for (let i = 0; i < lattice.length; i++) lattice[i] = amplitude * (rng.next() * 2 - 1);
  // A random phase so octaves of the same cell size don't align on the lattice.
  const ox = rng.next() * cx;
  const oy = rng.next() * cy;
  const xi = new Int32Array(width);
  const xw = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const u = (x + ox) / cx;
    const i = Math.floor(u);
    const t = u - i;
    xi[x] = i;
    xw[x] = t * t * (3 - 2 * t);
  }
  // Interpolate between lattice rows once per scene row, then only along x per pixel.
  const row = new Float32Array(gw);
  for (let y = 0; y < height; y++) {
    const v = (y + oy) / cy;
    const j = Math.floor(v);
    let t = v - j;
    t = t * t * (3 - 2 * t);
    const r0 = j * gw;
    const r1 = r0 + gw;
    for (let i = 0; i < gw; i++) row[i] = lattice[r0 + i] + t * (lattice[r1 + i] - lattice[r0 + i]);
    const base = y * width;
    for (let x = 0; x < width; x++) {
      const i = xi[x];
      const a = row[i];
      field[base + x] += a + xw[x] * (row[i + 1] - a);
    }
  }
}

/** Octaves with cells at least this many pixels are computed on a grid LOW times coarser, then upsampled once. */
const LOW = 4;
const LOW_CELL = 16;

/** Fractal noise: octaves from `cell` down by halves, amplitude × `persistence` each time; result roughly in [-1, 1]. */
export function addFbm(
  field: Float32Array,
  width: number,
  height: number,
  rng: Rng,
  cell: number,
  octaves: number,
  amplitude: number,
  persistence = 0.5,
  stretchX = 1,
  stretchY = 1,
): void {
  let norm = 0;
  for (let k = 0, q = 1; k < octaves; k++, q *= persistence) norm += q;
  const sw = Math.ceil(width / LOW) + 2,
    sh = Math.ceil(height / LOW) + 2;
  let low: Float32Array | null = null;
  let a = amplitude / norm;
  let c = cell;
  for (let k = 0; k < octaves && c >= 1; k++) {
    if (c * Math.min(stretchX, stretchY) >= LOW_CELL) {
      low ??= new Float32Array(sw * sh);
      addValueNoise(low, sw, sh, rng, c / LOW, a, stretchX, stretchY);
    } else {
      addValueNoise(field, width, height, rng, c, a, stretchX, stretchY);
    }
    a *= persistence;
    c /= 2;
  }
  if (low) addUpsampled(field, width, height, low, sw, LOW);
}

/** field += bilinear upsampling of `low` (a grid `factor` times coarser, `lw` wide). */
function addUpsampled(field: Float32Array, width: number, height: number, low: Float32Array, lw: number, factor: number): void {
  const xi = new Int32Array(width);
  const xw = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const u = x / factor;
    xi[x] = Math.floor(u);
    xw[x] = u - xi[x];
  }
  const row = new Float32Array(lw);
  for (let y = 0; y < height; y++) {
    const v = y / factor;
    const j = Math.floor(v);
    const t = v - j;
    const r0 = j * lw,
      r1 = r0 + lw;
    for (let i = 0; i < lw; i++) row[i] = low[r0 + i] + t * (low[r1 + i] - low[r0 + i]);
    const base = y * width;
    for (let x = 0; x < width; x++) {
      const i = xi[x];
      field[base + x] += row[i] + xw[x] * (row[i + 1] - row[i]);
    }
  }
}

/** 64 Ki standard normals, made once from a fixed seed: per-pixel sensor noise indexes it with a cheap xorshift. */
export const GAUSSIAN_TABLE: Float32Array = (() => {
  const table = new Float32Array(1 << 16);
  let s = 0x2545f491;
  const u = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  for (let i = 0; i < table.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u()));
    const t = 2 * Math.PI * u();
    table[i] = r * Math.cos(t);
    table[i + 1] = r * Math.sin(t);
  }
  return table;
})();

const SIN_STEPS = 4096;
const SIN_TABLE: Float32Array = (() => {
  const t = new Float32Array(SIN_STEPS);
  for (let i = 0; i < SIN_STEPS; i++) t[i] = Math.sin((2 * Math.PI * i) / SIN_STEPS);
  return t;
})();
const SIN_SCALE = SIN_STEPS / (2 * Math.PI);

/** sin by table (4096 steps a turn): patterns need its shape, not its precision, and Math.sin per pixel is slow. */
export function fastSin(x: number): number {
  return SIN_TABLE[((x * SIN_SCALE) | 0) & (SIN_STEPS - 1)];
}
