import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { DEFAULT_AUGMENT, train } from '../../index.js';
import { UsageError, type Command } from '../command.js';
import { defineOptions } from '../option-table.js';
import { intOption, runOption } from '../options.js';

const OPTIONS = defineOptions({
  run: { type: 'string', value: 'PATH', help: 'a finished run of `fruits extract` (required)' },
  augment: {
    type: 'string',
    value: 'N',
    help: `scenes per reference image (default ${DEFAULT_AUGMENT}; 0: references and corrections only)`,
  },
  backgrounds: {
    type: 'string',
    value: 'DIR',
    help: ['folder of background photos (jpg/png/webp, searched recursively), used for half the', 'scenes; procedural backgrounds are always used'],
  },
  seed: { type: 'string', value: 'N', help: 'seed of every random choice (default 1): the same seed gives the same scenes' },
  precision: { type: 'string', value: 'P', help: 'precision on validation scenes the "not sure" threshold is chosen for (default 0.9)' },
  workers: { type: 'string', value: 'N', help: `pipeline threads for the augmentation (default ${availableParallelism()})` },
  threads: { type: 'string', value: 'N', help: `onnxruntime threads for training and calibration (default ${availableParallelism()})` },
  model: { type: 'string', value: 'PATH', help: "the run's ONNX model (default: found by the sha256 the run recorded)" },
});

const HELP = `Usage: fruits train --run <run> [options]

Trains the app's classifier for real photos on a finished run of \`fruits extract\`:
  1. augment: every reference image becomes N scenes — the fruit cut out of its white background and pasted
     on a surface (procedural wood, cloth, stone, gradients…, or photos from --backgrounds) at 20–90 % of the
     frame, rotated, flipped, sometimes in piles, groups or crates filling the frame, partly hidden or cut by the frame edge, with
     lighting, colour temperature, blur, noise and JPEG compression — featurized by the same model on every
     core. Written to <run>/augmented/part-NNNNN.parquet (source, label, params, features), 24 example
     scenes to <run>/augmented/examples/. Resumable: parts made with the same settings are kept.
  2. train: a softmax probe on the standardised 1280-d features of the references, the scenes and the
     corrections users sent from the app (<run>/feedback/, weighted ×20), L2 chosen on the scenes of
     held-out reference images (1 in 10, never trained on); then a small MLP head (512 hidden units) on
     the same rows, kept instead of the probe only when it is better on those scenes. Scored by fruit,
     as the app answers: the varieties of a fruit (15 apples, 10 pears…) count as one answer.
  3. calibrate: held-out references rendered as photo-sized scenes, seen through the app's views and
     averaged as the app does; the "not sure" threshold is the lowest score whose precision reaches
     --precision on them.
Writes <run>/classifier/model.json (used by serve, identify and evaluate) and classifier/report.json.

${OPTIONS.help()}

Exit codes: 0 trained, 1 training failed, 2 bad usage, 3 no finished run at --run, 4 no usable model, 130
interrupted (the table: fruits --help).
`;

export const trainCommand: Command = {
  name: 'train',
  summary: 'train the app classifier for real photos (augmented scenes + corrections)',
  help: HELP,
  options: [OPTIONS],
  async run(argv) {
    const { values, positionals } = OPTIONS.parse(argv);
    const runUri = runOption(values.run, positionals);
    const augment = intOption('augment', values.augment, DEFAULT_AUGMENT, 0);
    const seed = intOption('seed', values.seed, 1, 0);
    const workers = intOption('workers', values.workers, availableParallelism());
    const threads = intOption('threads', values.threads, availableParallelism());
    const precision = values.precision === undefined ? 0.9 : Number(values.precision);
    if (!(precision > 0 && precision < 1)) throw new UsageError(`--precision must be between 0 and 1, not "${values.precision}"`);
    if (values.backgrounds && !(existsSync(values.backgrounds) && statSync(values.backgrounds).isDirectory())) {
      throw new UsageError(`--backgrounds ${values.backgrounds} is not a folder`);
    }
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let scenes = 0;
    let lastPrint = 0;
    try {
      const report = await train({
        run: runUri,
        augment,
        backgrounds: values.backgrounds,
        seed,
        workers,
        threads,
        model: values.model,
        targetPrecision: precision,
        log: (line) => process.stderr.write(`${line}\n`),
        hooks: {
          signal: controller.signal,
          onEvent: (event) => {
            if (event.type !== 'progress') return;
            scenes += event.images;
            if (performance.now() - lastPrint > 2000) {
              lastPrint = performance.now();
              process.stderr.write(`augment: ${scenes} scenes\n`);
            }
          },
        },
      });
      const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
      process.stdout.write(
        `trained on ${report.rows.references} references, ${report.rows.scenes} scenes, ${report.rows.feedback} correction views in ${(report.trainMs / 1000).toFixed(0)} s ` +
          `(augmentation ${(report.augment.wallMs / 1000).toFixed(0)} s, ${report.augment.msPerScene} ms per scene)\n` +
          `validation scenes: top-1 ${pct(report.validation.sceneTop1)}, top-5 ${pct(report.validation.sceneTop5)}; through the app's views: ` +
          `top-1 ${pct(report.validation.servedTop1)}, top-5 ${pct(report.validation.servedTop5)}\n` +
          `answers from a score of ${report.threshold.value} (precision ${report.threshold.targetPrecision} on validation scenes); ${report.chosen.head === 'mlp' ? 'MLP head' : `linear probe, L2 ${report.chosen.l2}`}, temperature ${report.chosen.temperature}\n` +
          `written: ${runUri}/classifier/model.json, classifier/report.json\n`,
      );
      return 0;
    } catch (error) {
      if (controller.signal.aborted) {
        process.stderr.write('interrupted: run the same command again to go on (finished augmented parts are kept)\n');
        return 130;
      }
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
