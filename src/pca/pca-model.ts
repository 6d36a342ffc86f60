import { z } from 'zod';
import { describeIssues } from '../errors/issues.js';
import type { Moments } from './moments.js';
import { ReflectorBlockKernel } from './matrix-kernels.js';
import { symmetricEigen } from './symmetric-eigen.js';
import { PcaFormatError } from './errors.js';

/** How many components to keep: a fixed number, or the fewest that explain a fraction of the variance. */
export type ComponentChoice = { k: number } | { variance: number };

/** A fitted PCA, as stored in pca/model.json. */
export interface PcaModel {
  dim: number;
  k: number;
  nSamples: number;
  mean: Float32Array;
  /** k × dim, one unit-length component per row, largest variance first. */
  components: Float32Array;
  /** Variance along each kept component (sample variance, n - 1). */
  explainedVariance: Float64Array;
  explainedVarianceRatio: Float64Array;
  /** Total variance of the data (trace of the covariance), so ratios of any k can be recomputed. */
  totalVariance: number;
  choice: ComponentChoice;
}

export function componentsFor(values: Float64Array, choice: ComponentChoice): number {
  if ('k' in choice) return Math.min(choice.k, values.length);
  const total = values.reduce((s, v) => s + Math.max(v, 0), 0);
  let cumulative = 0;
  for (let i = 0; i < values.length; i++) {
    cumulative += Math.max(values[i], 0);
    if (cumulative >= choice.variance * total - 1e-12 * total) return i + 1;
  }
  return values.length;
}

/**
 * Fits PCA from merged moments: eigen-decomposition of the covariance. Component signs are fixed so that the
 * largest-magnitude entry of each is positive, which makes runs reproducible across machines and engines.
 */
export async function fitPca(moments: Moments, choice: ComponentChoice, threads = 1): Promise<PcaModel> {
  const dim = moments.dim;
  const covariance = moments.covariance();
  let totalVariance = 0;
  for (let i = 0; i < dim; i++) totalVariance += covariance[i * dim + i];
  const kernel = await ReflectorBlockKernel.create(threads);
  const eigen = await symmetricEigen(
    covariance,
    dim,
    (values) => componentsFor(values, choice),
    (...args) => kernel.apply(...args),
  ).finally(() => kernel.close());
  const k = eigen.count;
  const components = new Float32Array(k * dim);
  for (let c = 0; c < k; c++) {
    const row = eigen.vectors.subarray(c * dim, (c + 1) * dim);
    let largest = 0;
    for (let j = 1; j < dim; j++) if (Math.abs(row[j]) > Math.abs(row[largest])) largest = j;
    const sign = row[largest] < 0 ? -1 : 1;
    for (let j = 0; j < dim; j++) components[c * dim + j] = sign * row[j];
  }
  const explainedVariance = Float64Array.from(eigen.values.subarray(0, k), (v) => Math.max(v, 0));
  const explainedVarianceRatio = explainedVariance.map((v) => v / totalVariance);
  return {
    dim,
    k,
    nSamples: moments.count,
    mean: Float32Array.from(moments.mean),
    components,
    explainedVariance,
    explainedVarianceRatio,
    totalVariance,
    choice,
  };
}

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
/** A ComponentChoice as run files store it (plan, manifest, pca/model.json). */
export const componentChoiceSchema = z.union([z.looseObject({ k: z.number().int().min(1) }), z.looseObject({ variance: z.number().gt(0).max(1) })]);

/** pca/model.json, with the sizes that tie its arrays together checked (a file cut short fails here, not in a kernel). */
const pcaModelJson = z
  .looseObject({
    format: z.literal('fruits-pca/1'),
    dim: z.number().int().min(1),
    k: z.number().int().min(1),
    nSamples: z.number().int().min(0),
    choice: componentChoiceSchema,
    totalVariance: z.number(),
    // null: JSON's NaN (a ratio of data with no variance), read back as NaN.
    explainedVariance: z.array(z.number().nullable()),
    explainedVarianceRatio: z.array(z.number().nullable()),
    mean: z.array(finite),
    components: z.array(z.array(finite)),
  })
  .superRefine((m, ctx) => {
    const expect = (ok: boolean, path: string, message: string) => ok || ctx.addIssue({ code: 'custom', path: [path], message });
    expect(m.k <= m.dim, 'k', `must be at most dim (${m.dim})`);
    expect(m.mean.length === m.dim, 'mean', `must hold dim (${m.dim}) values, not ${m.mean.length}`);
    expect(m.explainedVariance.length === m.k, 'explainedVariance', `must hold k (${m.k}) values`);
    expect(m.explainedVarianceRatio.length === m.k, 'explainedVarianceRatio', `must hold k (${m.k}) values`);
    expect(m.components.length === m.k && m.components.every((row) => row.length === m.dim), 'components', `must be k × dim (${m.k} × ${m.dim})`);
  });

type PcaModelJson = z.infer<typeof pcaModelJson>;

export function pcaModelToJson(model: PcaModel): string {
  const json: PcaModelJson = {
    format: 'fruits-pca/1',
    dim: model.dim,
    k: model.k,
    nSamples: model.nSamples,
    choice: model.choice,
    totalVariance: model.totalVariance,
    explainedVariance: Array.from(model.explainedVariance),
    explainedVarianceRatio: Array.from(model.explainedVarianceRatio),
    mean: Array.from(model.mean),
    components: Array.from({ length: model.k }, (_, c) => Array.from(model.components.subarray(c * model.dim, (c + 1) * model.dim))),
  };
  return JSON.stringify(json);
}

export function pcaModelFromJson(text: string): PcaModel {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new PcaFormatError(`the PCA model is not JSON (${(error as Error).message}): the file was cut short`, { cause: error });
  }
  if ((raw as { format?: unknown } | null)?.format !== 'fruits-pca/1')
    throw new PcaFormatError(`unknown PCA model format ${String((raw as { format?: unknown } | null)?.format)}`);
  const parsed = pcaModelJson.safeParse(raw);
  if (!parsed.success) {
    throw new PcaFormatError(`not a readable PCA model: ${describeIssues(parsed.error, '(top)', { limit: 5 })}`, { cause: parsed.error });
  }
  const json = parsed.data;
  const components = new Float32Array(json.k * json.dim);
  json.components.forEach((row, c) => components.set(row, c * json.dim));
  return {
    dim: json.dim,
    k: json.k,
    nSamples: json.nSamples,
    choice: json.choice,
    totalVariance: json.totalVariance,
    mean: Float32Array.from(json.mean),
    components,
    explainedVariance: Float64Array.from(json.explainedVariance, (v) => v ?? NaN),
    explainedVarianceRatio: Float64Array.from(json.explainedVarianceRatio, (v) => v ?? NaN),
  };
}
