import { INPUT_SIZE } from './architecture.js';

/**
 * Facts about the Keras/TF-slim ImageNet weights of MobileNetV2 1.0/224, for checking a built model.
 *
 * 1. `REFERENCE_GOLDEN` — from `shared/models/SOURCES.md` §1 "Golden numbers": `test_data_set/0/input_0.npy` of the
 *    `.npy` weights folder (raw 0–255 pixels) normalised with x/127.5-1 → `features`.
 * 2. `SYNTHETIC_GOLDEN` — the same kind of numbers for `syntheticInput()` below, a pixel pattern made with integer
 *    arithmetic only (identical on every machine), so a model built on a machine that has only the downloaded `.h5`
 *    can still be checked. Measured with the prebuilt `mobilenet_v2_1.0_224_keras_features_nhwc.onnx`
 *    (sha256 73c48aa8…bf634, onnxruntime-node 1.30 CPU, float32), whose features match the TFLite reference outputs.
 *
 * Tolerances: both sources of a build (TFLite's folded weights and our folding of the Keras BatchNorm) hold the
 * same TF-slim checkpoint up to float32 rounding. Moving every weight and bias of the network by one ulp at random
 * changed single features by at most 2.7e-5, the norm by 1.1e-6 and the sum by 1.4e-6 relative (measured on both
 * inputs), while a real defect — padding on the wrong side, a swapped layer, an unfolded BatchNorm — changes them by
 * whole units (r = 0.83 for the padding mistake). The tolerances below leave ~20× room over rounding and are still
 * orders of magnitude below any wrong network. (The SOURCES.md numbers are printed to 4–5 decimals; their rounding,
 * ≤ 5e-5, is inside the tolerance.)
 */
export interface GoldenFeatures {
  /** What the numbers are about, shown by `fruits model info`. */
  description: string;
  l2Norm: number;
  sum: number;
  /** features[0..n) */
  first: number[];
}

export const REFERENCE_GOLDEN: GoldenFeatures = {
  description: 'test_data_set/0/input_0.npy, x/127.5-1 (SOURCES.md golden numbers)',
  l2Norm: 32.6341,
  sum: 468.9739,
  first: [0.0, 1.10032, 0.0, 2.16394, 0.0],
};

export const SYNTHETIC_GOLDEN: GoldenFeatures = {
  description: 'syntheticInput(): integer pixel pattern (xorshift32 seed 0x4d4e5632, 3 scales), x/127.5-1',
  l2Norm: 25.716758,
  sum: 355.498865,
  first: [0.0, 0.0, 0.0, 0.0, 0.866492, 0.74707, 0.084992, 0.655813],
};

export const GOLDEN_TOLERANCE = { value: 5e-4, relative: 5e-5 };

/**
 * A 224×224×3 image as raw 0–255 values (NHWC, C order), deterministic everywhere: blocks of 32 px, blocks of 8 px
 * and single-pixel noise from xorshift32, averaged with integer weights 4:2:1. Normalise with x/127.5-1 before use.
 */
export function syntheticPixels(): Float32Array {
  let state = 0x4d4e5632; // "MNV2"
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state & 255;
  };
  const s = INPUT_SIZE;
  const coarseSide = s / 32;
  const midSide = s / 8;
  const coarse = Array.from({ length: coarseSide * coarseSide * 3 }, next);
  const mid = Array.from({ length: midSide * midSide * 3 }, next);
  const out = new Float32Array(s * s * 3);
  for (let h = 0; h < s; h++) {
    for (let w = 0; w < s; w++) {
      for (let c = 0; c < 3; c++) {
        const a = coarse[((h >> 5) * coarseSide + (w >> 5)) * 3 + c];
        const b = mid[((h >> 3) * midSide + (w >> 3)) * 3 + c];
        out[(h * s + w) * 3 + c] = Math.floor((4 * a + 2 * b + next()) / 7);
      }
    }
  }
  return out;
}

/** Keras `preprocess_input` for MobileNetV2: x/127.5 - 1, in float32 (as the pipeline's normaliser does). */
export function kerasNormalize(pixels: Float32Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] / 127.5 - 1;
  return out;
}

export function syntheticInput(): Float32Array {
  return kerasNormalize(syntheticPixels());
}

export interface GoldenComparison {
  description: string;
  passed: boolean;
  expected: { l2Norm: number; sum: number; first: number[] };
  actual: { l2Norm: number; sum: number; first: number[] };
  /** Largest deviation relative to its tolerance (≤ 1 passes). */
  worst: number;
}

export function summarize(features: ArrayLike<number>, firstCount: number): { l2Norm: number; sum: number; first: number[] } {
  let squares = 0;
  let sum = 0;
  for (let i = 0; i < features.length; i++) {
    squares += features[i] * features[i];
    sum += features[i];
  }
  return { l2Norm: Math.sqrt(squares), sum, first: Array.from({ length: firstCount }, (_, i) => features[i]) };
}

export function compareGolden(features: ArrayLike<number>, golden: GoldenFeatures, tolerance = GOLDEN_TOLERANCE): GoldenComparison {
  const actual = summarize(features, golden.first.length);
  const ratios = [
    Math.abs(actual.l2Norm - golden.l2Norm) / (tolerance.relative * Math.abs(golden.l2Norm)),
    Math.abs(actual.sum - golden.sum) / (tolerance.relative * Math.abs(golden.sum)),
    ...golden.first.map((v, i) => Math.abs(actual.first[i] - v) / tolerance.value),
  ];
  const worst = Math.max(...ratios.map((r) => (Number.isNaN(r) ? Infinity : r)));
  return {
    description: golden.description,
    passed: worst <= 1,
    expected: { l2Norm: golden.l2Norm, sum: golden.sum, first: golden.first },
    actual,
    worst,
  };
}
