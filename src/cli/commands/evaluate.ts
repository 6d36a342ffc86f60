import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  crossValidate,
  type CrossValidation,
  evaluatePhotos,
  Identifier,
  loadReferenceSet,
  openStorage,
  parseLabels,
  type PhotoEvaluation,
  type Space,
} from '../../index.js';
import { UsageError, type Command } from '../command.js';
import { defineOptions } from '../option-table.js';
import { intOption, RUN_OPTION, runOption } from '../options.js';

const OPTIONS = defineOptions({
  run: RUN_OPTION,
  folds: { type: 'string', value: 'N', help: 'number of folds (default 5)' },
  seed: { type: 'string', value: 'N', help: 'fold assignment seed (default 1)' },
  space: { type: 'string', value: 'S', default: 'both', help: 'pca, full or both (default both)' },
  photos: { type: 'string', value: 'DIR', help: 'labelled photos (default: $FRUITS_DATA_DIR/real-photos when FRUITS_DATA_DIR is set)' },
  labels: {
    type: 'string',
    value: 'FILE',
    help: ["tab-separated labels with columns file, candidate_classes (';'-separated) and optionally", 'single_fruit_type (default: DIR/labels.tsv)'],
  },
  'no-photos': { type: 'boolean', help: 'skip the photo evaluation' },
  model: {
    type: 'string',
    value: 'PATH',
    help: [
      "ONNX model for the photos (default: the run's own model, found by the sha256",
      'it recorded in FRUITS_MODEL_DIR, the cache, then the path it recorded; or FRUITS_MODEL)',
    ],
  },
  threads: { type: 'string', value: 'N', help: `onnxruntime threads (default ${availableParallelism()})` },
  json: { type: 'boolean', help: 'print the report as JSON' },
});

const HELP = `Usage: fruits evaluate --run <run> [options]

Accuracy report of the app's classifier on a run's own images, by stratified k-fold cross-validation (every
class split evenly over the folds; each fold is classified by a model trained on the other folds only):
  - kNN (k = 10, cosine) and the softmax probe (standardised, L2-regularised, temperature-scaled),
  - on the PCA vectors (what the app uses) and on the full 1280-d features,
  - top-1 and top-5, and the most confused class pairs.
Then, when labelled photos are available, the accuracy on them with the serving pipeline (the classifier
cached in <run>/classifier/probe.json): a hit is a top-1 (top-5) answer among the photo's candidate classes.
Fruits-360 images of a class are frames of one video, so folds share near-duplicates: the k-fold figures
overstate accuracy on new photos; the real-photo figures are the honest ones.

${OPTIONS.help()}

Exit codes: 0 report printed, 1 the photos cannot be used, 2 bad usage, 3 no finished run at --run, 4 no usable
model (the table: fruits --help).
`;

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 'accuracy of the classifier: k-fold on the run, and on labelled real photos',
  help: HELP,
  options: [OPTIONS],
  async run(argv) {
    const { values, positionals } = OPTIONS.parse(argv);
    const runUri = runOption(values.run, positionals);
    const folds = intOption('folds', values.folds, 5, 2);
    const seed = intOption('seed', values.seed, 1, 0);
    const threads = intOption('threads', values.threads, availableParallelism());
    const spaces: Space[] = values.space === 'both' ? ['pca', 'full'] : values.space === 'pca' || values.space === 'full' ? [values.space] : [];
    if (spaces.length === 0) throw new UsageError(`--space must be pca, full or both, not "${values.space}"`);
    const photosDir = values['no-photos']
      ? undefined
      : (values.photos ?? (process.env.FRUITS_DATA_DIR ? join(process.env.FRUITS_DATA_DIR, 'real-photos') : undefined));
    if (values.photos && !existsSync(values.photos)) throw new UsageError(`--photos ${values.photos} does not exist`);
    const labelsFile = photosDir ? (values.labels ?? join(photosDir, 'labels.tsv')) : undefined;
    if (photosDir && labelsFile && !existsSync(labelsFile)) {
      if (values.photos || values.labels) throw new UsageError(`no labels file ${labelsFile} (give one with --labels)`);
    }
    const log = (line: string) => values.json || process.stderr.write(`${line}\n`);

    const run = openStorage(runUri);
    const t0 = performance.now();
    const set = await loadReferenceSet(run, { features: spaces.includes('full') });
    log(`loaded ${set.rows} images, ${set.classes.length} classes in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${folds}-fold cross-validation…`);
    const cv = await crossValidate(set, { folds, seed, threads, spaces, log });

    let photos: (PhotoEvaluation & { dir: string }) | undefined;
    if (photosDir && labelsFile && existsSync(labelsFile)) {
      log(`identifying the photos in ${photosDir}…`);
      const identifier = await Identifier.open({ run, model: values.model, threads, log });
      try {
        photos = { dir: photosDir, ...(await evaluatePhotos(identifier, photosDir, parseLabels(readFileSync(labelsFile, 'utf8')))) };
      } finally {
        await identifier.close();
      }
    }
    const totalMs = performance.now() - t0;
    if (values.json) process.stdout.write(`${JSON.stringify({ crossValidation: cv, photos, totalMs: Math.round(totalMs) }, null, 2)}\n`);
    else process.stdout.write(formatReport(cv, photos, totalMs));
    return 0;
  },
};

const pct = (x: number) => (Number.isNaN(x) ? '  –   ' : `${(x * 100).toFixed(2).padStart(6)}%`);

export function formatReport(cv: CrossValidation, photos: (PhotoEvaluation & { dir: string }) | undefined, totalMs: number): string {
  const lines = [
    `run        ${cv.runId}: ${cv.rows} images, ${cv.classes} classes; stratified ${cv.folds}-fold (seed ${cv.seed})`,
    '',
    `                      kNN (k=${cv.knnK}, cosine)   probe (softmax)`,
    '                      top-1    top-5        top-1    top-5',
  ];
  for (const r of cv.results) {
    const name = r.space === 'pca' ? `PCA ${r.dim}-d` : `full ${r.dim}-d`;
    lines.push(`  ${name.padEnd(18)}  ${pct(r.knn.top1)}  ${pct(r.knn.top5)}     ${pct(r.probe.top1)}  ${pct(r.probe.top5)}`);
  }
  const pca = cv.results.find((r) => r.space === 'pca');
  const full = cv.results.find((r) => r.space === 'full');
  if (pca && full) {
    const d = (a: number, b: number) => `${(a - b) * 100 >= 0 ? '+' : ''}${((a - b) * 100).toFixed(2)}`;
    lines.push(`  PCA − full (points)     ${d(pca.knn.top1, full.knn.top1).padStart(6)}                 ${d(pca.probe.top1, full.probe.top1).padStart(6)}`);
  }
  lines.push('');
  lines.push(`most confused pairs (probe on PCA, errors both ways): ${cv.confusedPairs.length === 0 ? 'none' : ''}`);
  for (const p of cv.confusedPairs) lines.push(`  ${String(p.count).padStart(4)}  ${p.a} ↔ ${p.b}`);
  if (photos) {
    lines.push('');
    lines.push(
      `real photos (${photos.photos} in ${photos.dir}${photos.errors ? `, ${photos.errors} unreadable` : ''}): a hit is an answer among the photo's candidate classes`,
    );
    lines.push(`                      top-1    top-5`);
    lines.push(`  probe               ${pct(photos.probe.top1)}  ${pct(photos.probe.top5)}`);
    lines.push(`  kNN                 ${pct(photos.knn.top1)}  ${pct(photos.knn.top5)}`);
    const s = photos.singleFruitType;
    lines.push(`  single-fruit photos (${s.photos}): probe ${pct(s.probe.top1)} / ${pct(s.probe.top5)}, kNN ${pct(s.knn.top1)} / ${pct(s.knn.top5)}`);
    lines.push(
      `  served (${photos.served.classifier === 'scene' ? 'scene classifier on the photo views' : 'probe'}) ${pct(photos.served.top1)}  ${pct(photos.served.top5)}`,
    );
    lines.push(`  answered without "not sure": ${photos.confident} of ${photos.photos}, ${photos.confidentCorrect} of them right`);
    for (const o of photos.outcomes) {
      const hit = (list: string[]) => (o.candidates.includes(list[0]) ? 'top-1' : list.some((c) => o.candidates.includes(c)) ? 'top-5' : 'miss ');
      lines.push(
        o.error
          ? `    ${o.file}: ${o.error}`
          : `    ${hit(o.served)} ${hit(o.knn)}  ${o.notSure ? 'not sure' : 'answered'}  ood ${o.oodScore.toFixed(1).padStart(4)}  ${o.file} → ${o.served[0]} (${(o.probeScore * 100).toFixed(0)}%)`,
      );
    }
  }
  lines.push('');
  const t = cv.results.map((r) => `${r.space}: kNN ${(r.knnMs / 1000).toFixed(1)} s, probe ${(r.probeMs / 1000).toFixed(1)} s`).join('; ');
  lines.push(`timings    ${t}; total ${(totalMs / 1000).toFixed(1)} s`);
  return `${lines.join('\n')}\n`;
}
