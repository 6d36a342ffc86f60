import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { RunAbortedError } from '../../engine/engine.js';
import { LocalEngine } from '../../engine/local/local-engine.js';
import { ensureModel } from '../../model/provision/index.js';
import { FeatureExtractor } from '../../model/feature-extractor.js';
import { parseLabelRule } from '../../pipeline/labels.js';
import { prepareRun } from '../../pipeline/prepare-run.js';
import { DEFAULT_RUN_OPTIONS, type RunOptions } from '../../pipeline/run-spec.js';
import { openStorage } from '../../storage/open-storage.js';
import { UsageError, type Command } from '../command.js';
import { fractionOption, intOption } from '../options.js';
import { ModelProgressReporter, ProgressReporter } from '../progress.js';
import { formatSummary } from '../summary.js';

const HELP = `Usage: fruits extract <input> <output> [options]

Featurizes every image under <input> (a folder, or s3://bucket/prefix, with one sub-folder per class) with
MobileNetV2 (ImageNet weights, 1280-d pooled features), fits a PCA on all features, and writes Parquet:
  <output>/features/part-*.parquet   path, label, width, height, bytes, features (list<float32>[1280])
  <output>/results/part-*.parquet    path, label, pca (list<float32>[k])
  <output>/pca/model.json            mean, components, explained variance
  <output>/errors/part-*.parquet     path, stage, message of every input that failed (the run goes on)
  <output>/manifest.json, _SUCCESS   written last; a folder without _SUCCESS is an unfinished run

Options:
  --model PATH           ONNX model file or folder (default: FRUITS_MODEL, FRUITS_MODEL_DIR, then the cache)
  --workers N            pipeline threads (default: one per core = ${availableParallelism()})
  --threads N            onnxruntime threads per pipeline thread (default 1)
  --batch-size N         images per model call (default ${DEFAULT_RUN_OPTIONS.batchSize})
  --shard-size N         images per shard = per output part (default ${DEFAULT_RUN_OPTIONS.shardSize})
  --pca-variance F       keep the fewest components explaining this fraction of variance (default 0.95)
  --pca-k N              keep exactly N components (instead of --pca-variance)
  --glob PATTERN         which files are images, e.g. '**/*.jpg' (default: jpg, jpeg, png, webp, any case)
  --label-from RULE      parent (default: the image's folder), first (first folder under input),
                         none, or regex:<pattern with one capture group on the relative path>
  --max-pixels N         refuse images with more pixels (decompression bombs; default ${DEFAULT_RUN_OPTIONS.maxPixels})
  --resume               finish an interrupted run in <output>: only shards without a part are redone
  --overwrite            replace the run in <output> (only files fruits wrote are removed)
  --fail-on-error        exit 1 when any image failed (default: exit 0 and report the count)
  --quiet                no progress output
  --json                 print the manifest as JSON at the end instead of the summary

Exit codes: 0 done, 1 failed (or --fail-on-error with failed images), 2 bad usage, 130 interrupted.
`;

export const extractCommand: Command = {
  name: 'extract',
  summary: 'images → MobileNetV2 features → PCA → Parquet (local threads)',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        model: { type: 'string' },
        workers: { type: 'string' },
        threads: { type: 'string' },
        'batch-size': { type: 'string' },
        'shard-size': { type: 'string' },
        'pca-variance': { type: 'string' },
        'pca-k': { type: 'string' },
        glob: { type: 'string' },
        'label-from': { type: 'string' },
        'max-pixels': { type: 'string' },
        resume: { type: 'boolean', default: false },
        overwrite: { type: 'boolean', default: false },
        'fail-on-error': { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 2) throw new UsageError('expected <input> and <output>');
    const [inputUri, outputUri] = positionals;
    if (values.resume && values.overwrite) throw new UsageError('--resume and --overwrite exclude each other');
    if (values['pca-k'] && values['pca-variance']) throw new UsageError('give --pca-k or --pca-variance, not both');
    let labelFrom;
    try {
      labelFrom = parseLabelRule(values['label-from'] ?? 'parent');
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const options: RunOptions = {
      ...DEFAULT_RUN_OPTIONS,
      shardSize: intOption('shard-size', values['shard-size'], DEFAULT_RUN_OPTIONS.shardSize),
      batchSize: intOption('batch-size', values['batch-size'], DEFAULT_RUN_OPTIONS.batchSize),
      pca: values['pca-k']
        ? { k: intOption('pca-k', values['pca-k'], 0) }
        : { variance: fractionOption('pca-variance', values['pca-variance']) ?? 0.95 },
      glob: values.glob,
      labelFrom,
      maxPixels: intOption('max-pixels', values['max-pixels'], DEFAULT_RUN_OPTIONS.maxPixels),
    };
    const workers = intOption('workers', values.workers, availableParallelism());
    const threads = intOption('threads', values.threads, 1);

    // The model is opened once here, before anything is listed or written: a missing, corrupt or wrong-shaped
    // model stops the run with nothing in the output folder.
    const modelProgress = new ModelProgressReporter(process.stderr, values.quiet);
    const located = await ensureModel({ model: values.model, onProgress: modelProgress.handle }).finally(() => modelProgress.end());
    const probe = await FeatureExtractor.open(located.path, { threads: 1 });
    const { sha256 } = probe.info;
    await probe.close();

    const input = openStorage(inputUri);
    const output = openStorage(outputUri);
    const log = (line: string) => values.quiet || process.stderr.write(`${line}\n`);
    const prepared = await prepareRun({ input, output, options, model: { path: located.path, sha256 }, resume: values.resume, overwrite: values.overwrite });
    if (prepared.state === 'complete') {
      log(`${output.uri} already holds this finished run (${prepared.manifest.runId}); nothing to do.`);
      process.stdout.write(values.json ? `${JSON.stringify(prepared.manifest, null, 2)}\n` : formatSummary(prepared.manifest));
      return 0;
    }
    const { plan } = prepared;
    log(
      `${prepared.resumed ? 'resuming' : 'starting'} run ${plan.spec.runId}: ${plan.images} images, ${plan.classes.length} classes, ` +
        `${plan.shards.length} shards of ${options.shardSize}; model ${located.path} (${located.source}); ${workers} threads`,
    );

    const controller = new AbortController();
    const onSignal = () => {
      log('\ninterrupted: stopping (parts already written are kept; rerun with --resume to finish)');
      controller.abort();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const progress = new ProgressReporter(process.stderr, values.quiet);
    try {
      const engine = new LocalEngine({ modelPath: located.path, workers, threads });
      const manifest = await engine.run(plan, { onEvent: progress.handle, signal: controller.signal });
      progress.end();
      process.stdout.write(values.json ? `${JSON.stringify(manifest, null, 2)}\n` : formatSummary(manifest));
      if (manifest.counts.errors > 0) {
        log(`${manifest.counts.errors} image(s) failed and are listed in ${output.uri}/errors/`);
        if (values['fail-on-error']) return 1;
      }
      return 0;
    } catch (error) {
      progress.end();
      if (error instanceof RunAbortedError) return 130;
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
