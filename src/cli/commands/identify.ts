import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { type ApiAnswer, buildAnswer, DEFAULT_THRESHOLDS, Identifier, ImageDecodeError, type Method, openFruitDirectory } from '../../index.js';
import { UsageError, type Command } from '../command.js';
import { defineOptions } from '../option-table.js';
import { intOption, RUN_MODEL_OPTION, RUN_OPTION } from '../options.js';
import { methodOption, positiveNumberOption } from './serve.js';

const OPTIONS = defineOptions({
  run: RUN_OPTION,
  model: RUN_MODEL_OPTION,
  method: { type: 'string', value: 'M', help: 'probe (softmax probe, default) or knn (k nearest neighbours, cosine in PCA space)' },
  lang: { type: 'string', value: 'L', help: 'fr or en: language of the names in the text output (default en; --json has both)' },
  'min-score': {
    type: 'string',
    value: 'F',
    help: `"not sure" below this top score unless both methods agree (default ${DEFAULT_THRESHOLDS.minScore})`,
  },
  'max-ood': {
    type: 'string',
    value: 'F',
    help: `"not sure" beyond this out-of-distribution score (default ${DEFAULT_THRESHOLDS.maxOod}; see docs/app.md)`,
  },
  'max-pixels': { type: 'string', value: 'N', help: "refuse photos with more pixels (default: the run's --max-pixels)" },
  threads: { type: 'string', value: 'N', help: `onnxruntime threads (default ${availableParallelism()})` },
  retrain: { type: 'boolean', help: 'train the classifier again instead of using <run>/classifier/probe.json' },
  json: { type: 'boolean', help: 'print the answers as JSON (the body of POST /api/identify; an array for several photos)' },
});

const HELP = `Usage: fruits identify <photo>... --run <run> [options]

Says which fruit each photo shows, the way the app does: the photo is featurized exactly as \`fruits extract\`
did the run's images (same decoder, resize, normalisation, model file — its sha256 must equal the run's — and
PCA basis), then classified against the run's images. Prints the top-5 answers with scores, "not sure" when the
best score is low or the photo is unlike every reference image, and the fruit's card.

The first use of a run trains its classifier (a few seconds) and caches it in <run>/classifier/probe.json.

${OPTIONS.help()}

Exit codes: 0 every photo answered (a "not sure" is an answer), 1 a photo could not be read or decoded, 2 bad
usage, 3 no finished run at --run, 4 no usable model or not the run's (the table: fruits --help).
`;

export const identifyCommand: Command = {
  name: 'identify',
  summary: 'which fruit is in a photo (top-5, "not sure", fruit card)',
  help: HELP,
  options: [OPTIONS],
  async run(argv) {
    const { values, positionals } = OPTIONS.parse(argv);
    if (!values.run) throw new UsageError('--run <run folder> is required');
    if (positionals.length === 0) throw new UsageError('expected at least one photo');
    const lang = values.lang ?? 'en';
    if (lang !== 'en' && lang !== 'fr') throw new UsageError(`--lang must be fr or en, not "${lang}"`);
    const method: Method = methodOption(values.method);
    const identifier = await Identifier.open({
      run: values.run,
      model: values.model,
      threads: intOption('threads', values.threads, availableParallelism()),
      maxPixels: values['max-pixels'] ? intOption('max-pixels', values['max-pixels'], 0) : undefined,
      method,
      retrain: values.retrain,
      thresholds: {
        minScore: positiveNumberOption('min-score', values['min-score']) ?? DEFAULT_THRESHOLDS.minScore,
        maxOod: positiveNumberOption('max-ood', values['max-ood']) ?? DEFAULT_THRESHOLDS.maxOod,
      },
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const directory = await openFruitDirectory();
    let failed = 0;
    const answers: (ApiAnswer | { file: string; error: string })[] = [];
    try {
      for (const file of positionals) {
        try {
          const answer = buildAnswer(identifier.runId, await identifier.identify(await readFile(file)), directory);
          answers.push(values.json ? { file, ...answer } : answer);
          if (!values.json) process.stdout.write(formatAnswer(file, answer, lang));
        } catch (error) {
          failed++;
          // A photo that is missing or not a usable image fails alone; anything else (model, run) stops the command.
          const unreadable = typeof (error as NodeJS.ErrnoException).code === 'string';
          if (!(error instanceof ImageDecodeError) && !unreadable) throw error;
          const message = `cannot read the photo: ${(error as Error).message}`;
          answers.push({ file, error: message });
          process.stderr.write(`${file}: ${message}\n`);
        }
      }
    } finally {
      await identifier.close();
    }
    if (values.json) process.stdout.write(`${JSON.stringify(answers.length === 1 ? answers[0] : answers, null, 2)}\n`);
    return failed > 0 ? 1 : 0;
  },
};

function formatAnswer(file: string, a: ApiAnswer, lang: 'en' | 'fr'): string {
  const pct = (s: number) => `${(s * 100).toFixed(1)}%`;
  const top = a.predictions[0];
  const lines = [`${basename(file)}`];
  if (top) {
    const name = `${top.label[lang]} (${top.class})`;
    lines.push(a.notSure ? `  answer     NOT SURE (${a.reasons.join(', ')}); best guess ${name} ${pct(top.score)}` : `  answer     ${name} ${pct(top.score)}`);
  }
  lines.push(`  top 5      ${a.predictions.map((p, i) => `${i + 1}. ${p.class} ${pct(p.score)}`).join('  ')}`);
  lines.push(`  ${a.method === 'probe' ? 'kNN  ' : 'probe'}      ${a.knn.map((p) => `${p.class} ${pct(p.score)}`).join('  ')}`);
  lines.push(`  distance   nearest reference cos ${a.ood.nearestSimilarity.toFixed(3)}; out-of-distribution score ${a.ood.score.toFixed(2)}`);
  const f = a.fruit;
  if (f) {
    const other = lang === 'en' ? f.names.fr : f.names.en;
    lines.push(`  fruit      ${capitalise(f.names[lang])} / ${capitalise(other)} — ${f.scientificName}, ${f.family}`);
    const origin = lang === 'fr' ? (f.originFr ?? f.origin) : f.origin;
    if (origin) lines.push(`  origin     ${origin}`);
    if (f.seasonEurope?.length) lines.push(`  season     ${f.seasonEurope.map((m) => MONTHS[lang][m - 1]).join(', ')} (Europe)`);
    const n: Record<string, number | undefined> = { ...f.nutritionPer100g };
    const parts = Object.entries(NUTRIENTS[lang])
      .filter(([key]) => typeof n[key] === 'number')
      .map(([key, [label, unit]]) => `${label} ${n[key]} ${unit}`);
    if (parts.length) lines.push(`  per 100 g  ${parts.join(', ')}`);
    if (f.biodiversity) lines.push(`  biodiv.    ${f.biodiversity[lang]}`);
  }
  lines.push(`  timings    decode ${a.timings.decodeMs} ms, model ${a.timings.inferenceMs} ms, total ${a.timings.totalMs} ms`);
  return `${lines.join('\n')}\n`;
}

function capitalise(text: string): string {
  return text.charAt(0).toLocaleUpperCase('fr') + text.slice(1);
}

const NUTRIENTS: Record<'en' | 'fr', Record<string, [string, string]>> = {
  en: {
    energyKcal: ['energy', 'kcal'],
    waterG: ['water', 'g'],
    carbohydrateG: ['carbohydrate', 'g'],
    sugarsG: ['sugars', 'g'],
    fiberG: ['fibre', 'g'],
    proteinG: ['protein', 'g'],
    fatG: ['fat', 'g'],
    vitaminCMg: ['vitamin C', 'mg'],
  },
  fr: {
    energyKcal: ['énergie', 'kcal'],
    waterG: ['eau', 'g'],
    carbohydrateG: ['glucides', 'g'],
    sugarsG: ['sucres', 'g'],
    fiberG: ['fibres', 'g'],
    proteinG: ['protéines', 'g'],
    fatG: ['lipides', 'g'],
    vitaminCMg: ['vitamine C', 'mg'],
  },
};

const MONTHS = {
  en: ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'],
  fr: ['janv.', 'févr.', 'mars', 'avr.', 'mai', 'juin', 'juil.', 'août', 'sept.', 'oct.', 'nov.', 'déc.'],
};
