import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { splitFold, stratifiedFolds } from './folds.js';
import type { Identifier } from './identifier.js';
import { knnRanking, DEFAULT_KNN_K } from './knn.js';
import { NeighbourKernel } from './neighbours.js';
import { probeLogitsBatch, trainProbe, DEFAULT_PROBE_TRAINING, type ProbeTrainingOptions } from './probe.js';
import type { ReferenceSet } from './reference-set.js';
import { gatherRows, normalizeRows, transpose } from './vectors.js';
import { InvalidOptionError } from '../errors/fruits-error.js';

export type Space = 'pca' | 'full';

export interface TopK {
  top1: number;
  top5: number;
}

export interface SpaceResult {
  space: Space;
  dim: number;
  knn: TopK;
  probe: TopK;
  /** Summed over folds. */
  knnMs: number;
  probeMs: number;
}

export interface ConfusedPair {
  /** The two classes, either way round (a → b and b → a errors are summed). */
  a: string;
  b: string;
  count: number;
}

export interface CrossValidation {
  runId: string;
  rows: number;
  classes: number;
  folds: number;
  seed: number;
  knnK: number;
  results: SpaceResult[];
  /** From the probe on PCA vectors, the configuration the app serves. */
  confusedPairs: ConfusedPair[];
  totalMs: number;
}

export interface CrossValidationOptions {
  folds?: number;
  seed?: number;
  threads?: number;
  spaces?: Space[];
  knnK?: number;
  probe?: Partial<ProbeTrainingOptions>;
  log?: (line: string) => void;
}

/**
 * Stratified k-fold accuracy of kNN and of the linear probe, in PCA space and (when the set holds them) on the
 * full 1280-d features. Every fold trains on the other folds only. Similarities and probe logits are computed
 * in onnxruntime (see NeighbourKernel); a 5-fold run over the 23,619 Fruits-360 Test images takes ~1 min on 2
 * cores. Note: Fruits-360 images of a class are frames of one video, so folds share near-duplicates and these
 * figures overstate accuracy on new photos (see the real-photos evaluation).
 */
export async function crossValidate(set: ReferenceSet, options: CrossValidationOptions = {}): Promise<CrossValidation> {
  const started = performance.now();
  const folds = options.folds ?? 5;
  const seed = options.seed ?? 1;
  const threads = options.threads ?? 1;
  const knnK = options.knnK ?? DEFAULT_KNN_K;
  const log = options.log ?? (() => {});
  const spaces = options.spaces ?? (set.features ? ['pca', 'full'] : ['pca']);
  const C = set.classes.length;
  const assignment = stratifiedFolds(set.labels, folds, seed);
  const pairCounts = new Map<string, number>();
  const results: SpaceResult[] = [];
  const kernel = await NeighbourKernel.create(threads);
  try {
    for (const space of spaces) {
      const x = space === 'pca' ? set.pcaVectors : set.features;
      if (!x) throw new Error('full-feature evaluation needs the reference set loaded with features');
      const dim = space === 'pca' ? set.pca.k : set.manifest.model.featureDim;
      const unit = normalizeRows(x, dim);
      const hits = { knn1: 0, knn5: 0, probe1: 0, probe5: 0 };
      let knnMs = 0;
      let probeMs = 0;
      for (let fold = 0; fold < folds; fold++) {
        const { train, test } = splitFold(assignment, fold);
        if (test.length === 0 || train.length === 0) continue;
        const yTrain = Int32Array.from(train, (i) => set.labels[i]);
        const yTest = Int32Array.from(test, (i) => set.labels[i]);

        const t0 = performance.now();
        const refsT = transpose(gatherRows(unit, dim, train), train.length, dim);
        const neighbours = await kernel.search(gatherRows(unit, dim, test), test.length, dim, Math.max(knnK, 50), refsT, train.length);
        for (let r = 0; r < test.length; r++) {
          const ranked = knnRanking(neighbours, r, yTrain, knnK, 5);
          if (ranked[0]?.classIndex === yTest[r]) hits.knn1++;
          if (ranked.some((c) => c.classIndex === yTest[r])) hits.knn5++;
        }
        const foldKnnMs = performance.now() - t0;
        knnMs += foldKnnMs;

        const t1 = performance.now();
        const probe = await trainProbe(gatherRows(x, dim, train), train.length, dim, yTrain, C, { ...DEFAULT_PROBE_TRAINING, ...options.probe, threads });
        const logits = await probeLogitsBatch(probe, gatherRows(x, dim, test), test.length, threads);
        for (let r = 0; r < test.length; r++) {
          const top = topIndices(logits, r * C, C, 5);
          if (top[0] === yTest[r]) hits.probe1++;
          else if (space === 'pca') {
            const [a, b] = [set.classes[yTest[r]], set.classes[top[0]]].sort();
            pairCounts.set(`${a}\u0000${b}`, (pairCounts.get(`${a}\u0000${b}`) ?? 0) + 1);
          }
          if (top.includes(yTest[r])) hits.probe5++;
        }
        const foldProbeMs = performance.now() - t1;
        probeMs += foldProbeMs;
        log(`${space} fold ${fold + 1}/${folds}: ${test.length} held out (kNN ${(foldKnnMs / 1000).toFixed(1)} s, probe ${(foldProbeMs / 1000).toFixed(1)} s)`);
      }
      const n = set.rows;
      results.push({
        space,
        dim,
        knn: { top1: hits.knn1 / n, top5: hits.knn5 / n },
        probe: { top1: hits.probe1 / n, top5: hits.probe5 / n },
        knnMs,
        probeMs,
      });
    }
  } finally {
    await kernel.close();
  }
  const confusedPairs = [...pairCounts.entries()]
    .map(([key, count]) => {
      const [a, b] = key.split('\u0000');
      return { a, b, count };
    })
    .sort((p, q) => q.count - p.count || p.a.localeCompare(q.a))
    .slice(0, 10);
  return {
    runId: set.manifest.runId,
    rows: set.rows,
    classes: C,
    folds,
    seed,
    knnK,
    results,
    confusedPairs,
    totalMs: performance.now() - started,
  };
}

function topIndices(values: Float32Array, offset: number, count: number, top: number): number[] {
  const best: number[] = [];
  for (let c = 0; c < count; c++) {
    const v = values[offset + c];
    let pos = best.length;
    while (pos > 0 && values[offset + best[pos - 1]] < v) pos--;
    if (pos < top) {
      best.splice(pos, 0, c);
      if (best.length > top) best.pop();
    }
  }
  return best;
}

// ---- real photos ----

export interface LabelledPhoto {
  file: string;
  /** Acceptable answers: any of these classes counts as a hit. */
  candidates: string[];
  singleFruitType?: boolean;
}

/** Reads labels.tsv: a header with `file` and `candidate_classes` (';'-separated), optionally `single_fruit_type`. */
export function parseLabels(text: string): LabelledPhoto[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const header = lines[0].split('\t');
  const fileCol = header.indexOf('file');
  const candCol = header.indexOf('candidate_classes');
  const singleCol = header.indexOf('single_fruit_type');
  if (fileCol < 0 || candCol < 0)
    throw new InvalidOptionError('labels file needs a tab-separated header with "file" and "candidate_classes" columns', { code: 'FRUITS_LABELS_FILE' });
  return lines.slice(1).map((line) => {
    const cells = line.split('\t');
    return {
      file: cells[fileCol],
      candidates: (cells[candCol] ?? '')
        .split(';')
        .map((c) => c.trim())
        .filter(Boolean),
      singleFruitType: singleCol >= 0 ? cells[singleCol] === 'yes' : undefined,
    };
  });
}

export interface PhotoOutcome {
  file: string;
  candidates: string[];
  singleFruitType?: boolean;
  probe: string[];
  knn: string[];
  probeScore: number;
  /** What the app answers (its predictions, best first), and whether it says "not sure". */
  served: string[];
  region?: { x: number; y: number; width: number; height: number };
  notSure: boolean;
  oodScore: number;
  error?: string;
}

export interface PhotoEvaluation {
  photos: number;
  errors: number;
  probe: TopK;
  knn: TopK;
  /** Answers given without "not sure", and how many of those were right (top-1 of the serving method). */
  confident: number;
  confidentCorrect: number;
  singleFruitType: { photos: number; probe: TopK; knn: TopK };
  /**
   * What the app actually answers (the served pipeline: the scene classifier on the photo's views when the
   * run has one, else the probe): top-1/top-5, and the answers not "not sure" with how many of them were right.
   */
  served: TopK & { answered: number; answeredCorrect: number; classifier: 'scene' | 'probe' };
  outcomes: PhotoOutcome[];
}

/** Identifies every labelled photo with the serving pipeline; a hit is an answer among its candidate classes. */
export async function evaluatePhotos(identifier: Identifier, dir: string, labels: LabelledPhoto[]): Promise<PhotoEvaluation> {
  const outcomes: PhotoOutcome[] = [];
  for (const photo of labels) {
    try {
      const answer = await identifier.identify(await readFile(join(dir, photo.file)));
      outcomes.push({
        file: photo.file,
        candidates: photo.candidates,
        singleFruitType: photo.singleFruitType,
        probe: answer.probe.map((p) => p.className),
        knn: answer.knn.map((p) => p.className),
        probeScore: answer.probe[0]?.score ?? 0,
        served: answer.predictions.map((p) => p.className),
        ...(answer.region ? { region: answer.region } : {}),
        notSure: answer.notSure,
        oodScore: answer.ood.score,
      });
    } catch (error) {
      outcomes.push({
        file: photo.file,
        candidates: photo.candidates,
        probe: [],
        knn: [],
        served: [],
        probeScore: 0,
        notSure: true,
        oodScore: NaN,
        error: (error as Error).message,
      });
    }
  }
  const rate = (list: PhotoOutcome[], pick: (o: PhotoOutcome) => string[], k: number) =>
    list.length === 0
      ? NaN
      : list.filter((o) =>
          pick(o)
            .slice(0, k)
            .some((c) => o.candidates.includes(c)),
        ).length / list.length;
  const topk = (list: PhotoOutcome[], pick: (o: PhotoOutcome) => string[]): TopK => ({ top1: rate(list, pick, 1), top5: rate(list, pick, 5) });
  const single = outcomes.filter((o) => o.singleFruitType);
  const confident = outcomes.filter((o) => !o.notSure);
  const serving = (o: PhotoOutcome) => (identifier.defaultMethod === 'probe' ? o.probe : o.knn);
  return {
    photos: outcomes.length,
    errors: outcomes.filter((o) => o.error).length,
    probe: topk(outcomes, (o) => o.probe),
    knn: topk(outcomes, (o) => o.knn),
    confident: confident.length,
    confidentCorrect: confident.filter((o) => o.candidates.includes(serving(o)[0])).length,
    singleFruitType: { photos: single.length, probe: topk(single, (o) => o.probe), knn: topk(single, (o) => o.knn) },
    served: {
      ...topk(outcomes, (o) => o.served),
      answered: confident.length,
      answeredCorrect: confident.filter((o) => o.candidates.includes(o.served[0])).length,
      classifier: identifier.scene ? 'scene' : 'probe',
    },
    outcomes,
  };
}
