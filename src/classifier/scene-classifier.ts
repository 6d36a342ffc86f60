/**
 * The classifier for real photos: a softmax probe on the standardised 1280-d features, trained on the
 * references, their augmented scenes and the users' corrections, applied to several views of a photo whose
 * probabilities are averaged. Hyper-parameters and the "not sure" threshold are chosen on held-out augmented
 * scenes (whole reference images held out, scenes of them never trained on), never on real photos.
 */
import { mlpLogits, trainMlp, type MlpHead, type MlpTrainingOptions } from './mlp.js';
import { fitTemperature, probeLogits, probeLogitsBatch, softmax, trainProbe, type LinearProbe } from './probe.js';
import { DEFAULT_VIEW_SCALES, type ViewScale } from './views.js';
import { ClassifierError } from './errors.js';

export const SCENE_CLASSIFIER_FORMAT = 'fruits-scene-classifier/1';

export interface SceneClassifier {
  format: typeof SCENE_CLASSIFIER_FORMAT;
  runId: string;
  modelSha256: string;
  createdAt: string;
  classes: string[];
  /** Folded standardisation, 1280 × classes; `temperature` fitted on the validation scenes. */
  probe: LinearProbe;
  /** When it won on the validation scenes: the MLP head, used instead of the probe (see sceneProbabilities). */
  mlp?: MlpHead;
  views: ViewScale[];
  /** The combined (view-averaged) top probability from which the app answers instead of "not sure". */
  threshold: number;
  /** The precision on validation scenes the threshold was chosen for. */
  targetPrecision: number;
  augmentKey: string;
  /**
   * The fruit each class shows (catalog species id, or the class itself when the catalog does not know it):
   * the app answers the fruit, summing its varieties (see rankFruits). Absent in older files: one per class.
   */
  fruits?: string[];
}

export interface LabelledRows {
  features: Float32Array;
  labels: Int32Array;
  rows: number;
}

export interface TrainingCandidate {
  head: 'linear' | 'mlp';
  /** L2 penalty (linear) or weight decay (MLP). */
  l2: number;
  /** Hidden units of the MLP. */
  hidden?: number;
  valTop1: number;
  valTop5: number;
  trainMs: number;
}

export interface CoveragePoint {
  threshold: number;
  coverage: number;
  precision: number;
}

/** Concatenates row sets (same dim), repeating set i `repeat[i]` times (corrections weigh more than one scene). */
export function concatRows(sets: LabelledRows[], dim: number, repeat: number[] = []): LabelledRows {
  const rows = sets.reduce((n, s, i) => n + s.rows * (repeat[i] ?? 1), 0);
  const features = new Float32Array(rows * dim);
  const labels = new Int32Array(rows);
  let at = 0;
  sets.forEach((s, i) => {
    for (let r = 0; r < (repeat[i] ?? 1); r++) {
      features.set(s.features.subarray(0, s.rows * dim), at * dim);
      labels.set(s.labels.subarray(0, s.rows), at);
      at += s.rows;
    }
  });
  return { features, labels, rows };
}

/**
 * Top-1 and top-5 accuracy of probabilities (rows × classes) against labels; with `groups`, by fruit as the app
 * answers (see rankFruits): right when the label's fruit is among the first fruits.
 */
export function topK(probs: Float32Array | Float64Array, labels: Int32Array, classCount: number, groups?: Int32Array): { top1: number; top5: number } {
  if (groups) {
    let top1 = 0;
    let top5 = 0;
    for (let r = 0; r < labels.length; r++) {
      const ranked = rankFruits(probs.subarray(r * classCount, (r + 1) * classCount), groups);
      const rank = ranked.findIndex((x) => groups[x.classIndex] === groups[labels[r]]);
      if (rank === 0) top1++;
      if (rank >= 0) top5++;
    }
    return { top1: top1 / labels.length, top5: top5 / labels.length };
  }
  let top1 = 0;
  let top5 = 0;
  for (let r = 0; r < labels.length; r++) {
    const base = r * classCount;
    const own = probs[base + labels[r]];
    let above = 0;
    for (let c = 0; c < classCount; c++) if (probs[base + c] > own) above++;
    if (above === 0) top1++;
    if (above < 5) top5++;
  }
  return { top1: top1 / labels.length, top5: top5 / labels.length };
}

/**
 * Trains one probe per L2 value on `train`, scores each on `validation`, keeps the best top-1 (ties: the larger
 * L2), and fits its temperature on the validation rows.
 */
export async function selectProbe(
  train: LabelledRows,
  validation: LabelledRows,
  dim: number,
  classCount: number,
  options: { l2: number[]; epochs: number; threads: number; seed: number; groups?: Int32Array; log?: (line: string) => void },
): Promise<{ probe: LinearProbe; chosen: TrainingCandidate; candidates: TrainingCandidate[] }> {
  let best: { probe: LinearProbe; top1: number; candidate: TrainingCandidate } | undefined;
  const candidates: TrainingCandidate[] = [];
  for (const l2 of options.l2) {
    const t0 = performance.now();
    const probe = await trainProbe(train.features, train.rows, dim, train.labels, classCount, {
      l2,
      epochs: options.epochs,
      threads: options.threads,
      seed: options.seed,
    });
    const trainMs = performance.now() - t0;
    const probs = softmaxRows(await probeLogitsBatch(probe, validation.features, validation.rows, options.threads), validation.rows, classCount, 1);
    const { top1, top5 } = topK(probs, validation.labels, classCount, options.groups);
    const candidate: TrainingCandidate = { head: 'linear', l2, valTop1: top1, valTop5: top5, trainMs: Math.round(trainMs) };
    candidates.push(candidate);
    options.log?.(
      `  L2 ${l2}: validation scenes top-1 ${(top1 * 100).toFixed(1)} %, top-5 ${(top5 * 100).toFixed(1)} %${options.groups ? ' (by fruit)' : ''} (${(trainMs / 1000).toFixed(1)} s)`,
    );
    if (!best || top1 >= best.top1) best = { probe, top1, candidate };
  }
  const logits = await probeLogitsBatch(best!.probe, validation.features, validation.rows, options.threads);
  best!.probe.temperature = fitTemperature(logits, validation.labels, classCount, [0.25, 10]);
  return { probe: best!.probe, chosen: best!.candidate, candidates };
}

/**
 * The best linear probe (selectProbe), then an MLP head on the same rows; the MLP is kept only when it beats the
 * probe's validation top-1, and its temperature is fitted on the validation rows too.
 */
export async function selectHead(
  train: LabelledRows,
  validation: LabelledRows,
  dim: number,
  classCount: number,
  options: Parameters<typeof selectProbe>[4] & { mlp?: Partial<MlpTrainingOptions> | false },
): Promise<{ probe: LinearProbe; mlp?: MlpHead; chosen: TrainingCandidate; candidates: TrainingCandidate[] }> {
  const { probe, chosen, candidates } = await selectProbe(train, validation, dim, classCount, options);
  if (options.mlp === false) return { probe, chosen, candidates };
  const t0 = performance.now();
  const mlp = await trainMlp(train.features, train.rows, dim, train.labels, classCount, { threads: options.threads, seed: options.seed, ...options.mlp });
  const trainMs = performance.now() - t0;
  const logits = mlpLogits(mlp, validation.features, validation.rows);
  const { top1, top5 } = topK(softmaxRows(logits, validation.rows, classCount, 1), validation.labels, classCount, options.groups);
  const candidate: TrainingCandidate = {
    head: 'mlp',
    l2: options.mlp?.weightDecay ?? 1e-4,
    hidden: mlp.hidden,
    valTop1: top1,
    valTop5: top5,
    trainMs: Math.round(trainMs),
  };
  candidates.push(candidate);
  options.log?.(
    `  MLP ${mlp.hidden}: validation scenes top-1 ${(top1 * 100).toFixed(1)} %, top-5 ${(top5 * 100).toFixed(1)} %${options.groups ? ' (by fruit)' : ''} (${(trainMs / 1000).toFixed(1)} s)`,
  );
  if (!(top1 > chosen.valTop1)) return { probe, chosen, candidates };
  mlp.temperature = fitTemperature(logits, validation.labels, classCount, [0.25, 10]);
  return { probe, mlp, chosen: candidate, candidates };
}

/** Class probabilities (rows × classes) of features under the classifier's head (the MLP when it has one). */
export function sceneProbabilities(scene: Pick<SceneClassifier, 'probe' | 'mlp'>, features: Float32Array, rows: number): Float32Array {
  if (scene.mlp) return softmaxRows(mlpLogits(scene.mlp, features, rows), rows, scene.mlp.classCount, scene.mlp.temperature);
  const { dim, classCount } = scene.probe;
  const out = new Float32Array(rows * classCount);
  for (let r = 0; r < rows; r++) out.set(softmax(probeLogits(scene.probe, features.subarray(r * dim, (r + 1) * dim)), scene.probe.temperature), r * classCount);
  return out;
}

/** softmax of each row of logits at a temperature. */
export function softmaxRows(logits: Float32Array, rows: number, classCount: number, temperature: number): Float32Array {
  const out = new Float32Array(rows * classCount);
  for (let r = 0; r < rows; r++) out.set(softmax(logits.subarray(r * classCount, (r + 1) * classCount), temperature), r * classCount);
  return out;
}

/**
 * The coverage–precision curve of "answer when the top score ≥ t" and the lowest threshold whose precision
 * reaches `target` (scores: the top combined probability per scene; correct: whether its class is right).
 */
export function calibrateThreshold(scores: number[], correct: boolean[], target: number): { threshold: number; curve: CoveragePoint[] } {
  const order = scores.map((s, i) => i).sort((a, b) => scores[b] - scores[a]);
  const curve: CoveragePoint[] = [];
  let right = 0;
  let threshold = 1;
  // Walk from the most confident down: the threshold is the lowest score at which the running precision
  // (of everything at or above it) still meets the target.
  order.forEach((i, n) => {
    if (correct[i]) right++;
    const precision = right / (n + 1);
    if (precision >= target) threshold = scores[i];
  });
  for (const t of [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, threshold]) {
    const answered = order.filter((i) => scores[i] >= t);
    curve.push({
      threshold: round(t),
      coverage: round(answered.length / Math.max(1, scores.length)),
      precision: round(answered.filter((i) => correct[i]).length / Math.max(1, answered.length)),
    });
  }
  return { threshold: round(threshold), curve: curve.sort((a, b) => a.threshold - b.threshold) };
}

/** Averages per-view probabilities (views × classes) into one distribution, and says which view backs `classIndex` most. */
export function combineViews(probs: Float32Array, views: number, classCount: number): { combined: Float64Array; bestView: (classIndex: number) => number } {
  const combined = new Float64Array(classCount);
  for (let v = 0; v < views; v++) for (let c = 0; c < classCount; c++) combined[c] += probs[v * classCount + c] / views;
  const bestView = (classIndex: number) => {
    let best = 0;
    for (let v = 1; v < views; v++) if (probs[v * classCount + classIndex] > probs[best * classCount + classIndex]) best = v;
    return best;
  };
  return { combined, bestView };
}

/** One answer of rankFruits: the fruit's best class (variety), and the fruit's probability (its classes summed). */
export interface RankedFruit {
  classIndex: number;
  score: number;
}

/**
 * Classes grouped by fruit: group index per class, from the names in `fruits` (identity when absent).
 */
export function fruitGroups(classCount: number, fruits?: readonly string[]): Int32Array {
  const ids = new Map<string, number>();
  return Int32Array.from({ length: classCount }, (_, c) => {
    const name = fruits?.[c] ?? `class:${c}`;
    if (!ids.has(name)) ids.set(name, ids.size);
    return ids.get(name)!;
  });
}

/**
 * The top `k` fruits of a class distribution: each fruit's probability is the sum of its varieties', and it is
 * named by its most likely variety. A user asks "what fruit is this": on validation scenes seen through the views,
 * 15 apple or 10 pear classes split one fruit's probability so that the top class alone fell below the "not
 * sure" threshold on photos where the fruit itself was clear (measured: scene top-1 53.4 % by class, 58.9 % by
 * fruit; coverage at precision 0.9 rises accordingly). Alternatives are distinct fruits, not five apples.
 */
export function rankFruits(probs: ArrayLike<number>, groups: Int32Array, k = 5): RankedFruit[] {
  const total = new Map<number, number>();
  const best = new Map<number, number>();
  for (let c = 0; c < probs.length; c++) {
    const g = groups[c];
    total.set(g, (total.get(g) ?? 0) + probs[c]);
    const b = best.get(g);
    if (b === undefined || probs[c] > probs[b]) best.set(g, c);
  }
  return [...total]
    .sort((a, b) => b[1] - a[1] || best.get(a[0])! - best.get(b[0])!)
    .slice(0, k)
    .map(([g, score]) => ({ classIndex: best.get(g)!, score }));
}

const base64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

function floats(text: string, length: number, what: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  if (out.length !== length) throw new ClassifierError(`classifier ${what} do not match its dimensions`, { code: 'FRUITS_CLASSIFIER_FORMAT' });
  return out;
}

export function encodeSceneClassifier(c: SceneClassifier): string {
  return JSON.stringify({
    ...c,
    probe: { ...c.probe, weights: base64(c.probe.weights), bias: Array.from(c.probe.bias) },
    ...(c.mlp ? { mlp: { ...c.mlp, w1: base64(c.mlp.w1), b1: base64(c.mlp.b1), w2: base64(c.mlp.w2), b2: base64(c.mlp.b2) } } : {}),
  });
}

export function decodeSceneClassifier(text: string): SceneClassifier {
  type EncodedMlp = Omit<MlpHead, 'w1' | 'b1' | 'w2' | 'b2'> & { w1: string; b1: string; w2: string; b2: string };
  const raw = JSON.parse(text) as Omit<SceneClassifier, 'probe' | 'mlp'> & {
    probe: Omit<LinearProbe, 'weights' | 'bias'> & { weights: string; bias: number[] };
    mlp?: EncodedMlp;
  };
  if (raw.format !== SCENE_CLASSIFIER_FORMAT)
    throw new ClassifierError(`not a ${SCENE_CLASSIFIER_FORMAT} file (format ${String(raw.format)})`, { code: 'FRUITS_CLASSIFIER_FORMAT' });
  const weights = floats(raw.probe.weights, raw.probe.dim * raw.probe.classCount, 'weights');
  const m = raw.mlp;
  const mlp = m
    ? {
        ...m,
        w1: floats(m.w1, m.dim * m.hidden, 'MLP weights'),
        b1: floats(m.b1, m.hidden, 'MLP biases'),
        w2: floats(m.w2, m.hidden * m.classCount, 'MLP weights'),
        b2: floats(m.b2, m.classCount, 'MLP biases'),
      }
    : undefined;
  return { ...raw, views: raw.views ?? DEFAULT_VIEW_SCALES, probe: { ...raw.probe, weights, bias: Float32Array.from(raw.probe.bias) }, mlp };
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
