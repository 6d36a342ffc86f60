import type { Identification } from '../classifier/identifier.js';
import type { FruitCard, FruitDirectory, Names } from './fruit-directory.js';

export interface ApiPrediction {
  class: string;
  label: Names;
  fruitId?: string;
  score: number;
}

/** The JSON of POST /api/identify and of `fruits identify --json`. */
export interface ApiAnswer {
  runId: string;
  predictions: ApiPrediction[];
  notSure: boolean;
  reasons: Identification['reasons'];
  method: Identification['method'];
  /** Fruit card of the top prediction (also given when not sure, as "maybe this"); null when unknown. */
  fruit: FruitCard | null;
  knn: { class: string; score: number }[];
  ood: Identification['ood'];
  image: Identification['image'];
  /** 'scene': the classifier of `fruits train`, on `views` views of the photo; 'probe': the studio probe. */
  classifier: Identification['classifier'];
  views: number;
  /** The part of the photo (fractions of width and height) that was recognised, when it is not the whole photo. */
  region?: Identification['region'];
  timings: Identification['timings'];
}

export function buildAnswer(runId: string, identification: Identification, directory: FruitDirectory): ApiAnswer {
  const predictions = identification.predictions.map((p) => {
    const entry = directory.forClass(p.className);
    return { class: p.className, label: entry.label, fruitId: entry.fruit?.id, score: p.score };
  });
  const top = identification.predictions[0] ? directory.forClass(identification.predictions[0].className) : undefined;
  return {
    runId,
    predictions,
    notSure: identification.notSure,
    reasons: identification.reasons,
    method: identification.method,
    fruit: top?.fruit ? { ...top.fruit, ...(top.variety ? { variety: top.variety } : {}) } : null,
    knn: identification.knn.map((p) => ({ class: p.className, score: p.score })),
    ood: identification.ood,
    image: identification.image,
    classifier: identification.classifier,
    views: identification.views,
    ...(identification.region ? { region: identification.region } : {}),
    timings: roundTimings(identification.timings),
  };
}

function roundTimings(t: Identification['timings']): Identification['timings'] {
  const r = (x: number) => Math.round(x * 10) / 10;
  return { decodeMs: r(t.decodeMs), waitMs: r(t.waitMs), inferenceMs: r(t.inferenceMs), batchSize: t.batchSize, totalMs: r(t.totalMs) };
}
