import { availableParallelism } from 'node:os';
import type { DecodedImage } from '../images/decode.js';
import { locateRunModel } from '../model/locate.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { BatchQueue, Semaphore } from './batch-queue.js';
import { decide, DEFAULT_THRESHOLDS, type DecisionThresholds, type NotSureReason, type OodScores } from './decision.js';
import { QueueFullError } from './errors.js';
import { PhotoFeaturizer } from './featurizer.js';
import { knnRanking, type RankedClass } from './knn.js';
import { NeighbourKernel, type Neighbours } from './neighbours.js';
import { probeLogits, softmax } from './probe.js';
import { loadReferenceSet, residualsOf, type ReferenceSet } from './reference-set.js';
import { loadOrTrainClassifier, type TrainedClassifier } from './trained-classifier.js';
import { normalizeRows, transpose } from './vectors.js';
import { combineViews, decodeSceneClassifier, fruitGroups, rankFruits, sceneProbabilities, type SceneClassifier } from './scene-classifier.js';
import { decodeForViews, renderView, viewBoxes, type ViewBox } from './views.js';
import { layout } from '../dataset/layout.js';

export type Method = 'probe' | 'knn';

export interface IdentifierOptions {
  /** The run folder (path or URI) or an opened Storage. */
  run: string | Storage;
  /** Model file or folder; default: the run's own model, by its recorded sha256 (FRUITS_MODEL_DIR, cache, recorded path). */
  model?: string;
  /** onnxruntime threads for the model, the projection and the neighbour search. */
  threads?: number;
  maxPixels?: number;
  /** Photos per model call at most (photos that arrive while the model is busy are batched). */
  maxBatch?: number;
  /** Photos allowed to wait for the model, decoded or not; beyond, identify() throws QueueFullError. */
  maxWaiting?: number;
  /** Photos decoded at once (each holds a full-size image in libvips while it shrinks). */
  decodeConcurrency?: number;
  thresholds?: DecisionThresholds;
  method?: Method;
  /** Ignore classifier/probe.json and train again. */
  retrain?: boolean;
  log?: (line: string) => void;
}

export interface Prediction {
  className: string;
  score: number;
}

export interface Identification {
  /** Top 5 of `method`, best first. */
  predictions: Prediction[];
  notSure: boolean;
  reasons: NotSureReason[];
  method: Method;
  probe: Prediction[];
  knn: Prediction[];
  ood: OodScores;
  image: { format: string; width: number; height: number; bytes: number };
  /**
   * Which classifier answered: 'scene' (trained by \`fruits train\` for real photos, on several views of the
   * photo) or 'probe' (the studio-image probe of the run's own references).
   */
  classifier: 'scene' | 'probe';
  /** Views of the photo classified (1 for the probe). */
  views: number;
  /** The part of the photo (fractions of its width and height) that backs the answer most, when not the whole. */
  region?: ViewBox;
  timings: { decodeMs: number; waitMs: number; inferenceMs: number; batchSize: number; totalMs: number };
}

interface BatchOutput {
  features: Float32Array;
  pca: Float32Array;
  neighbours: Neighbours;
  /** PCA reconstruction error of the photo's features. */
  residual: number;
}

const NEIGHBOURS = 50;

/**
 * Photo → answer, for the CLI and the HTTP API. Holds ONE model session; photos are decoded concurrently
 * (bounded), then queued for the model and batched (see BatchQueue).
 */
export class Identifier {
  private readonly queue: BatchQueue<DecodedImage, BatchOutput>;
  private readonly decodeSlots: Semaphore;
  private admitted = 0;
  private readonly maxWaiting: number;
  private sceneGroups: Int32Array | undefined;

  private constructor(
    private readonly featurizer: PhotoFeaturizer,
    private readonly index: NeighbourKernel,
    readonly references: ReferenceSet,
    readonly classifier: TrainedClassifier,
    readonly classifierSource: 'cache' | 'trained',
    readonly modelPath: string,
    /** The classifier of \`fruits train\`, when the run has one for this model: answers on views of the photo. */
    readonly scene: SceneClassifier | undefined,
    private readonly options: Required<Pick<IdentifierOptions, 'maxBatch' | 'maxWaiting' | 'decodeConcurrency' | 'thresholds' | 'method'>>,
  ) {
    this.maxWaiting = options.maxWaiting;
    this.decodeSlots = new Semaphore(options.decodeConcurrency);
    // With the scene classifier every photo is ~15 views: the queue holds views, the admission count photos.
    const perPhoto = scene ? 24 : 1;
    this.queue = new BatchQueue((images) => this.runBatch(images), { maxBatch: options.maxBatch * (scene ? 4 : 1), maxWaiting: options.maxWaiting * perPhoto });
  }

  static async open(options: IdentifierOptions): Promise<Identifier> {
    const log = options.log ?? (() => {});
    const threads = options.threads ?? availableParallelism();
    const run = typeof options.run === 'string' ? openStorage(options.run) : options.run;
    // The run first (a folder that holds no run says so), then ITS model: found by the sha256 it recorded.
    const references = await loadReferenceSet(run);
    const modelPath = (await locateRunModel(references.manifest.model, { model: options.model })).path;
    const featurizer = await PhotoFeaturizer.open({ manifest: references.manifest, pca: references.pca, modelPath, threads, maxPixels: options.maxPixels });
    try {
      const loaded = await loadOrTrainClassifier(run, references, { threads, retrain: options.retrain });
      if (loaded.source === 'trained') {
        log(
          `trained the classifier on ${references.rows} vectors in ${(loaded.classifier.trainingMs / 1000).toFixed(1)} s` +
            (loaded.cacheError ? ` (not cached: ${loaded.cacheError})` : ` (cached in ${run.uri}/classifier/probe.json)`),
        );
      }
      const dim = references.pca.k;
      const index = await NeighbourKernel.withReferences(
        transpose(normalizeRows(references.pcaVectors, dim), references.rows, dim),
        references.rows,
        dim,
        threads,
      );
      const scene = await loadSceneClassifier(run, references.manifest.runId, references.manifest.model.sha256, log);
      return new Identifier(featurizer, index, references, loaded.classifier, loaded.source, modelPath, scene, {
        maxBatch: options.maxBatch ?? 8,
        maxWaiting: options.maxWaiting ?? 200,
        decodeConcurrency: options.decodeConcurrency ?? Math.max(2, availableParallelism()),
        thresholds: options.thresholds ?? DEFAULT_THRESHOLDS,
        method: options.method ?? 'probe',
      });
    } catch (error) {
      await featurizer.close();
      throw error;
    }
  }

  get runId(): string {
    return this.references.manifest.runId;
  }

  get modelSha256(): string {
    return this.references.manifest.model.sha256;
  }

  get classes(): string[] {
    return this.references.classes;
  }

  /** The decompression-bomb limit photos are decoded with. */
  get maxPixels(): number {
    return this.featurizer.decodeOptions.maxPixels;
  }

  get defaultMethod(): Method {
    return this.options.method;
  }

  get thresholds(): DecisionThresholds {
    return this.options.thresholds;
  }

  /** Photos admitted and not answered yet (decoding, waiting for the model, or in the running batch). */
  get pending(): number {
    return this.admitted;
  }

  /**
   * Bytes of one photo → answer. Throws ImageDecodeError for bad images (with a reason), QueueFullError when
   * more than `maxWaiting` photos are already pending.
   */
  async identify(bytes: Uint8Array, method: Method = this.options.method): Promise<Identification> {
    if (this.admitted >= this.maxWaiting) {
      throw new QueueFullError(`${this.admitted} photos are already being identified; try again in a few seconds`, 2);
    }
    this.admitted++;
    try {
      if (this.scene) return await this.identifyViews(bytes, this.scene, method);
      const started = performance.now();
      const image = await this.decodeSlots.run(() => this.featurizer.decode(bytes));
      const decodeMs = performance.now() - started;
      const { output, waitMs, batchMs, batchSize } = await this.queue.push(image);
      const answer = this.answer(output.pca, output.neighbours, method, output.residual);
      return {
        ...answer,
        image: { format: image.format, width: image.width, height: image.height, bytes: bytes.length },
        classifier: 'probe',
        views: 1,
        timings: { decodeMs, waitMs, inferenceMs: batchMs, batchSize, totalMs: performance.now() - started },
      };
    } finally {
      this.admitted--;
    }
  }

  /**
   * The served path with a trained scene classifier: the photo's views in the model's batch, their
   * probabilities averaged; "not sure" below the threshold calibrated on validation scenes. The kNN, the OOD
   * scores and the studio probe are still given for the whole photo (first view), for comparison.
   */
  private async identifyViews(bytes: Uint8Array, scene: SceneClassifier, method: Method): Promise<Identification> {
    const started = performance.now();
    const photo = await this.decodeSlots.run(() => decodeForViews(bytes, this.maxPixels));
    const size = this.featurizer.inputSize;
    const boxes = viewBoxes(photo.width, photo.height, scene.views);
    const views: DecodedImage[] = boxes.map((box) => ({
      format: photo.format,
      width: size,
      height: size,
      rgb: Buffer.from(renderView(photo, box, size)),
      rgbWidth: size,
      rgbHeight: size,
    }));
    const decodeMs = performance.now() - started;
    const outputs = await Promise.all(views.map((view) => this.queue.push(view)));
    const classCount = scene.classes.length;
    const features = new Float32Array(boxes.length * this.featurizer.featureDim);
    outputs.forEach(({ output }, v) => features.set(output.features, v * this.featurizer.featureDim));
    const probs = sceneProbabilities(scene, features, boxes.length);
    const { combined, bestView } = combineViews(probs, boxes.length, classCount);
    // The fruit is answered (its varieties summed), named by its likeliest variety; alternatives are other fruits.
    this.sceneGroups ??= fruitGroups(classCount, scene.fruits);
    const ranked = rankFruits(combined, this.sceneGroups);
    const whole = this.answer(outputs[0].output.pca, outputs[0].output.neighbours, 'probe', outputs[0].output.residual);
    const named = ranked.map((x) => ({ className: scene.classes[x.classIndex], score: round(x.score) }));
    const notSure = !(ranked[0] && ranked[0].score >= scene.threshold);
    const view = ranked[0] ? bestView(ranked[0].classIndex) : 0;
    const waitMs = Math.max(...outputs.map((o) => o.waitMs));
    return {
      predictions: method === 'knn' ? whole.knn : named,
      notSure: method === 'knn' ? whole.notSure : notSure,
      reasons: method === 'knn' ? whole.reasons : notSure ? ['low-score'] : [],
      method,
      probe: named,
      knn: whole.knn,
      ood: whole.ood,
      image: { format: photo.format, width: photo.originalWidth, height: photo.originalHeight, bytes: bytes.length },
      classifier: 'scene',
      views: boxes.length,
      ...(view > 0 ? { region: roundBox(boxes[view]) } : {}),
      timings: {
        decodeMs,
        waitMs,
        inferenceMs: Math.max(...outputs.map((o) => o.batchMs)),
        batchSize: Math.max(...outputs.map((o) => o.batchSize)),
        totalMs: performance.now() - started,
      },
    };
  }

  /** The answer for a PCA vector and its neighbours (the part of identify() after the model). */
  answer(
    pca: Float32Array,
    neighbours: Neighbours,
    method: Method = this.options.method,
    residual = NaN,
  ): Omit<Identification, 'image' | 'timings' | 'classifier' | 'views' | 'region'> {
    const { classifier } = this;
    const classes = this.references.classes;
    const probs = softmax(probeLogits(classifier.probe, pca), classifier.probe.temperature);
    const probeRanked: RankedClass[] = Array.from(probs, (score, classIndex) => ({ classIndex, score }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 5);
    const knnRanked = knnRanking(neighbours, 0, this.references.labels);
    const [ranked, other] = method === 'probe' ? [probeRanked, knnRanked] : [knnRanked, probeRanked];
    const ood = oodScores(pca, neighbours, ranked[0]?.classIndex ?? 0, classifier, residual);
    const { notSure, reasons } = decide(ranked[0], other[0]?.classIndex, ood, this.options.thresholds);
    const named = (r: RankedClass[]) => r.map((x) => ({ className: classes[x.classIndex], score: round(x.score) }));
    return { predictions: named(ranked), notSure, reasons, method, probe: named(probeRanked), knn: named(knnRanked), ood };
  }

  private async runBatch(images: DecodedImage[]): Promise<BatchOutput[]> {
    const { features, pca } = await this.featurizer.featurize(images);
    const k = this.references.pca.k;
    const neighbours = await this.index.search(normalizeRows(pca, k), images.length, k, NEIGHBOURS);
    const residuals = residualsOf(features, pca, images.length, this.references.pca);
    const dim = this.featurizer.featureDim;
    return images.map((_, i) => ({
      features: features.slice(i * dim, (i + 1) * dim),
      residual: residuals[i],
      pca: pca.slice(i * k, (i + 1) * k),
      neighbours: {
        k: neighbours.k,
        similarities: neighbours.similarities.slice(i * neighbours.k, (i + 1) * neighbours.k),
        indices: neighbours.indices.slice(i * neighbours.k, (i + 1) * neighbours.k),
      },
    }));
  }

  async close(): Promise<void> {
    this.queue.close();
    await this.featurizer.close();
    await this.index.close();
  }
}

/** Out-of-distribution scores of one PCA vector (see DecisionThresholds.maxOod). */
export function oodScores(pca: Float32Array, neighbours: Neighbours, classIndex: number, classifier: TrainedClassifier, residual = NaN): OodScores {
  const { ood } = classifier;
  const dim = pca.length;
  const nearestSimilarity = neighbours.similarities[0] ?? 0;
  const nearestRatio = (1 - nearestSimilarity) / ood.nearestDistance;
  let norm = 0;
  let dot = 0;
  for (let j = 0; j < dim; j++) {
    norm += pca[j] * pca[j];
    dot += pca[j] * ood.centroids[classIndex * dim + j];
  }
  const centroidRatio = (1 - (norm > 0 ? dot / Math.sqrt(norm) : 0)) / ood.centroidDistance[classIndex];
  const residualRatio = Number.isFinite(residual) && Number.isFinite(ood.residual) ? residual / ood.residual : 0;
  return {
    nearestSimilarity: round(nearestSimilarity),
    nearestRatio: round(nearestRatio),
    centroidRatio: round(centroidRatio),
    residualRatio: round(residualRatio),
    score: round(Math.max(nearestRatio, centroidRatio, residualRatio)),
  };
}

/** classifier/model.json of `fruits train`, when it was trained on this run with this model; else undefined. */
async function loadSceneClassifier(run: Storage, runId: string, modelSha256: string, log: (line: string) => void): Promise<SceneClassifier | undefined> {
  if (!(await run.exists(layout.trainedClassifier))) return undefined;
  const scene = decodeSceneClassifier((await run.read(layout.trainedClassifier)).toString());
  if (scene.runId !== runId || scene.modelSha256 !== modelSha256) {
    log(`ignoring ${layout.trainedClassifier}: it was trained on run ${scene.runId} with another model or run; run \`fruits train\` again`);
    return undefined;
  }
  return scene;
}

function roundBox(box: ViewBox): ViewBox {
  return { x: round(box.x), y: round(box.y), width: round(box.width), height: round(box.height) };
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
