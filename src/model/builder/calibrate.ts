import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { INPUT_SIZE } from './architecture.js';
import { INPUT_NAME } from './mobilenet-v2-graph.js';
import type { TensorRange } from './quantization.js';

/**
 * `minmax`: the observed extremes. `percentile`: the extremes after dropping the rarest `100 - percentile` % of
 * values at each end (from a 2048-bin histogram of a second pass), which spends the 256 levels on the bulk of the
 * distribution instead of a few outliers.
 */
export type CalibrationMethod = 'minmax' | 'percentile';

export interface CalibrationOptions {
  method?: CalibrationMethod;
  /** For `percentile`; default 99.999. */
  percentile?: number;
  /** Images per onnxruntime run; default 8 (every intermediate tensor is returned, ≈ 30 MB per image). */
  batchSize?: number;
  threads?: number;
}

const BINS = 2048;

/**
 * Runs the fp32 graph over the calibration images (normalised NHWC floats, `count` images) with the tensors
 * `names` exposed as extra outputs, and returns the real range of each.
 */
export async function calibrateRanges(
  fp32Model: Uint8Array,
  images: Float32Array,
  count: number,
  names: string[],
  options: CalibrationOptions = {},
): Promise<Map<string, TensorRange>> {
  const method = options.method ?? 'minmax';
  const batchSize = options.batchSize ?? 8;
  const { onnx } = onnxProto;
  const model = onnx.ModelProto.decode(fp32Model);
  for (const name of names) model.graph!.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1 } } }));
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish(), {
    intraOpNumThreads: options.threads ?? 1,
    interOpNumThreads: 1,
    // Level 'basic' keeps every named tensor (fusions at higher levels may remove intermediate outputs' producers).
    graphOptimizationLevel: 'basic',
  });
  const per = INPUT_SIZE * INPUT_SIZE * 3;
  const forEachBatch = async (visit: (name: string, data: Float32Array, dims: readonly number[]) => void): Promise<void> => {
    for (let start = 0; start < count; start += batchSize) {
      const n = Math.min(batchSize, count - start);
      const input = new ort.Tensor('float32', images.subarray(start * per, (start + n) * per), [n, INPUT_SIZE, INPUT_SIZE, 3]);
      const out = await session.run({ [INPUT_NAME]: input }, names);
      for (const name of names) visit(name, out[name].data as Float32Array, out[name].dims);
    }
  };
  try {
    const ranges = new Map<string, TensorRange>(names.map((n) => [n, { min: Infinity, max: -Infinity }]));
    const sums = new Map<string, Float64Array>();
    await forEachBatch((name, data, dims) => {
      const r = ranges.get(name)!;
      const [n, channels] = dims;
      const plane = data.length / (n * channels);
      let sum = sums.get(name);
      if (!sum) sums.set(name, (sum = new Float64Array(channels)));
      let { min, max } = r;
      for (let img = 0; img < n; img++) {
        for (let c = 0; c < channels; c++) {
          let s = 0;
          for (let i = (img * channels + c) * plane, end = i + plane; i < end; i++) {
            const v = data[i];
            s += v;
            if (v < min) min = v;
            if (v > max) max = v;
          }
          sum[c] += s / plane;
        }
      }
      r.min = min;
      r.max = max;
    });
    for (const [name, sum] of sums) ranges.get(name)!.channelMeans = Float32Array.from(sum, (s) => s / count);
    if (method === 'minmax') return ranges;

    const percentile = options.percentile ?? 99.999;
    const hist = new Map<string, Float64Array>(names.map((n) => [n, new Float64Array(BINS)]));
    await forEachBatch((name, data) => {
      const { min, max } = ranges.get(name)!;
      const h = hist.get(name)!;
      const k = max > min ? (BINS - 1) / (max - min) : 0;
      for (let i = 0; i < data.length; i++) h[Math.floor((data[i] - min) * k)]++;
    });
    const out = new Map<string, TensorRange>();
    for (const name of names) {
      const { min, max } = ranges.get(name)!;
      const h = hist.get(name)!;
      const total = h.reduce((a, b) => a + b, 0);
      const tail = (total * (100 - percentile)) / 100;
      const width = (max - min) / (BINS - 1);
      let lo = 0;
      for (let acc = 0; lo < BINS - 1 && acc + h[lo] <= tail; lo++) acc += h[lo];
      let hi = BINS - 1;
      for (let acc = 0; hi > 0 && acc + h[hi] <= tail; hi--) acc += h[hi];
      out.set(name, { min: min + lo * width, max: Math.min(max, min + (hi + 1) * width), channelMeans: ranges.get(name)!.channelMeans });
    }
    return out;
  } finally {
    await session.release();
  }
}
