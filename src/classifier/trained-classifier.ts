import { createHash } from 'node:crypto';
import { layout } from '../dataset/layout.js';
import type { Storage } from '../storage/storage.js';
import { splitFold, stratifiedFolds } from './folds.js';
import { knnRanking } from './knn.js';
import { NeighbourKernel } from './neighbours.js';
import { DEFAULT_PROBE_TRAINING, fitTemperature, probeLogitsBatch, trainProbe, type LinearProbe, type ProbeTrainingOptions } from './probe.js';
import type { ReferenceSet } from './reference-set.js';
import { referenceResiduals } from './reference-set.js';
import { gatherRows, normalizeRows, quantile, transpose } from './vectors.js';
import { ClassifierError } from './errors.js';

/**
 * What the classifier learns from a run besides the raw reference vectors: the linear probe, its temperature,
 * and the statistics that say how far from the references a photo may be before the answer is "not sure".
 */
export interface OodStats {
  /** Quantile (`config.nearestQuantile`) of held-out rows' cosine distance to their nearest reference. */
  nearestDistance: number;
  /** classes × k unit-length class centroids in PCA space. */
  centroids: Float32Array;
  /** Per class, quantile (`config.centroidQuantile`) of its members' cosine distance to the centroid. */
  centroidDistance: Float32Array;
  /**
   * Quantile (`config.nearestQuantile`) of the references' PCA reconstruction error ‖x − μ‖² − ‖P(x − μ)‖²;
   * NaN when the features were not available (the residual check is then skipped).
   */
  residual: number;
}

export interface TrainedClassifier {
  format: 'fruits-classifier/1';
  /** Run id + hash of the training configuration: a cached file with another key is stale. */
  key: string;
  runId: string;
  modelSha256: string;
  createdAt: string;
  classes: string[];
  probe: LinearProbe;
  ood: OodStats;
  holdout: { rows: number; probeTop1: number; knnTop1: number; fittedTemperature: number };
  trainingMs: number;
}

export interface ClassifierConfig {
  probe: ProbeTrainingOptions;
  /** 1 / holdoutFolds of every class is held out to fit the temperature and the OOD statistics. */
  holdoutFolds: number;
  seed: number;
  nearestQuantile: number;
  centroidQuantile: number;
  /**
   * Bounds of the fitted temperature. Fruits-360 frames are near-duplicates, so held-out rows are as easy as
   * training rows and the NLL-optimal temperature sharpens the softmax to its limit; never sharpening (T ≥ 1)
   * keeps the scores of unfamiliar photos from saturating at 100%.
   */
  temperatureRange: [number, number];
}

export const DEFAULT_CLASSIFIER_CONFIG: ClassifierConfig = {
  probe: { ...DEFAULT_PROBE_TRAINING },
  holdoutFolds: 10,
  seed: 1,
  nearestQuantile: 0.99,
  centroidQuantile: 0.95,
  temperatureRange: [1, 20],
};

/** Where a run keeps its trained classifier (next to features/, results/ and pca/). */
export const CLASSIFIER_KEY = layout.probeClassifier;

export function classifierKey(runId: string, config: ClassifierConfig): string {
  const hash = createHash('sha256')
    .update(JSON.stringify({ format: 3, config: { ...config, probe: { ...config.probe, threads: 0 } } }))
    .digest('hex');
  return `${runId}:${hash.slice(0, 12)}`;
}

/**
 * Trains on a reference set: a probe on 90% to fit the temperature and measure the held-out accuracy and
 * nearest-reference distances, then the final probe on every row.
 */
export async function trainClassifier(
  set: ReferenceSet,
  options: { config?: ClassifierConfig; threads?: number; residuals?: Float64Array } = {},
): Promise<TrainedClassifier> {
  const config = options.config ?? DEFAULT_CLASSIFIER_CONFIG;
  const threads = options.threads ?? 1;
  const started = performance.now();
  const dim = set.pca.k;
  const C = set.classes.length;
  const probeOptions = { ...config.probe, threads };

  const assignment = stratifiedFolds(set.labels, config.holdoutFolds, config.seed);
  const { train, test } = splitFold(assignment, 0);
  const xTrain = gatherRows(set.pcaVectors, dim, train);
  const yTrain = Int32Array.from(train, (i) => set.labels[i]);
  const xTest = gatherRows(set.pcaVectors, dim, test);
  const yTest = Int32Array.from(test, (i) => set.labels[i]);

  let fittedTemperature = 1;
  let probeTop1 = NaN;
  let knnTop1 = NaN;
  let nearestDistance = 0.5;
  if (test.length > 0 && train.length > 0) {
    const heldOutProbe = await trainProbe(xTrain, train.length, dim, yTrain, C, probeOptions);
    const logits = await probeLogitsBatch(heldOutProbe, xTest, test.length, threads);
    fittedTemperature = fitTemperature(logits, yTest, C);
    probeTop1 = top1(logits, yTest, C);
    const kernel = await NeighbourKernel.create(threads);
    try {
      const neighbours = await kernel.search(
        normalizeRows(xTest, dim),
        test.length,
        dim,
        10,
        transpose(normalizeRows(xTrain, dim), train.length, dim),
        train.length,
      );
      let hits = 0;
      const distances = new Float64Array(test.length);
      for (let r = 0; r < test.length; r++) {
        if (knnRanking(neighbours, r, yTrain)[0]?.classIndex === yTest[r]) hits++;
        distances[r] = 1 - neighbours.similarities[r * neighbours.k];
      }
      knnTop1 = hits / test.length;
      nearestDistance = Math.max(quantile(distances, config.nearestQuantile), 1e-3);
    } finally {
      await kernel.close();
    }
  }
  const probe = await trainProbe(set.pcaVectors, set.rows, dim, set.labels, C, probeOptions);
  probe.temperature = Math.min(Math.max(fittedTemperature, config.temperatureRange[0]), config.temperatureRange[1]);

  return {
    format: 'fruits-classifier/1',
    key: classifierKey(set.manifest.runId, config),
    runId: set.manifest.runId,
    modelSha256: set.manifest.model.sha256,
    createdAt: new Date().toISOString(),
    classes: set.classes,
    probe,
    ood: {
      ...centroidStats(set, config.centroidQuantile, nearestDistance),
      residual:
        options.residuals && residualIsReliable(set) ? Math.max(quantile(options.residuals.filter(Number.isFinite), config.nearestQuantile), 1e-6) : NaN,
    },
    holdout: { rows: test.length, probeTop1, knnTop1, fittedTemperature },
    trainingMs: performance.now() - started,
  };
}

/**
 * The references' own PCA residuals say how far a NEW photo may lie outside the subspace only when the PCA was
 * fitted on many more images than dimensions. With fewer, the basis is fitted to those very images and their
 * residuals are far smaller than any other image's: on the 423-image sample run (k = 181 of 1280), unseen
 * studio images of known classes have 2–10× the references' 99th percentile. On the full Test run (23,619
 * images) they stay below it. So the residual check is only used from 4 images per feature dimension up.
 */
export function residualIsReliable(set: Pick<ReferenceSet, 'pca'>): boolean {
  return set.pca.nSamples >= 4 * set.pca.dim;
}

function top1(logits: Float32Array, labels: Int32Array, C: number): number {
  let hits = 0;
  for (let r = 0; r < labels.length; r++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (logits[r * C + c] > logits[r * C + best]) best = c;
    if (best === labels[r]) hits++;
  }
  return hits / labels.length;
}

function centroidStats(set: ReferenceSet, q: number, nearestDistance: number): Omit<OodStats, 'residual'> {
  const dim = set.pca.k;
  const C = set.classes.length;
  const unit = normalizeRows(set.pcaVectors, dim);
  const sums = new Float32Array(C * dim);
  for (let r = 0; r < set.rows; r++) {
    const c = set.labels[r];
    for (let j = 0; j < dim; j++) sums[c * dim + j] += unit[r * dim + j];
  }
  const centroids = normalizeRows(sums, dim);
  const perClass: number[][] = Array.from({ length: C }, () => []);
  for (let r = 0; r < set.rows; r++) {
    const c = set.labels[r];
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += unit[r * dim + j] * centroids[c * dim + j];
    perClass[c].push(1 - dot);
  }
  const centroidDistance = Float32Array.from(perClass, (d) => Math.max(quantile(d, q), 1e-3));
  return { nearestDistance, centroids, centroidDistance };
}

// ---- (de)serialisation: float arrays as base64 little-endian float32, exact and ~4× smaller than decimals ----

function f32ToBase64(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function base64ToF32(s: string): Float32Array {
  const bytes = Buffer.from(s, 'base64');
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function classifierToJson(c: TrainedClassifier): string {
  return JSON.stringify({
    ...c,
    probe: { ...c.probe, weights: f32ToBase64(c.probe.weights), bias: f32ToBase64(c.probe.bias) },
    ood: {
      ...c.ood,
      residual: Number.isFinite(c.ood.residual) ? c.ood.residual : null,
      centroids: f32ToBase64(c.ood.centroids),
      centroidDistance: f32ToBase64(c.ood.centroidDistance),
    },
  });
}

export function classifierFromJson(text: string): TrainedClassifier {
  const json = JSON.parse(text);
  if (json.format !== 'fruits-classifier/1')
    throw new ClassifierError(`unknown classifier format ${String(json.format)}`, { code: 'FRUITS_CLASSIFIER_FORMAT' });
  return {
    ...json,
    probe: { ...json.probe, weights: base64ToF32(json.probe.weights), bias: base64ToF32(json.probe.bias) },
    ood: {
      ...json.ood,
      residual: json.ood.residual ?? NaN,
      centroids: base64ToF32(json.ood.centroids),
      centroidDistance: base64ToF32(json.ood.centroidDistance),
    },
  } as TrainedClassifier;
}

export interface LoadedClassifier {
  classifier: TrainedClassifier;
  source: 'cache' | 'trained';
  /** Why a freshly trained classifier could not be cached (read-only run folder), if so. */
  cacheError?: string;
}

/**
 * The run's cached classifier when its key matches (same run, same configuration), else trains one and
 * writes it to classifier/probe.json. A run folder we may not write to still works: training is ~2–3 s.
 */
export async function loadOrTrainClassifier(
  run: Storage,
  set: ReferenceSet,
  options: { config?: ClassifierConfig; threads?: number; retrain?: boolean } = {},
): Promise<LoadedClassifier> {
  const config = options.config ?? DEFAULT_CLASSIFIER_CONFIG;
  const key = classifierKey(set.manifest.runId, config);
  if (!options.retrain && (await run.exists(CLASSIFIER_KEY))) {
    try {
      const cached = classifierFromJson((await run.read(CLASSIFIER_KEY)).toString());
      if (cached.key === key && cached.classes.length === set.classes.length && cached.classes.every((c, i) => c === set.classes[i])) {
        return { classifier: cached, source: 'cache' };
      }
    } catch {
      // A damaged or older cache file is simply replaced.
    }
  }
  const residuals = residualIsReliable(set) ? await referenceResiduals(run, set) : undefined;
  const classifier = await trainClassifier(set, { config, threads: options.threads, residuals });
  try {
    await run.write(CLASSIFIER_KEY, classifierToJson(classifier));
    return { classifier, source: 'trained' };
  } catch (error) {
    return { classifier, source: 'trained', cacheError: (error as Error).message };
  }
}
