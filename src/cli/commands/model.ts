import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import {
  buildModel,
  BUILT_MODEL_FILE,
  describeChecks,
  fetchModel,
  findBuiltModel,
  findReferenceInput,
  KERAS_WEIGHTS_FULL,
  KERAS_WEIGHTS_NO_TOP,
  knownModelByFile,
  type LocatedModel,
  locateModel,
  modelCacheDir,
  type ModelSidecar,
  readSidecar,
  sha256File,
  sidecarPath,
  type VerificationReport,
  verifyModel,
  weightsBaseUrl,
} from '../../index.js';
import { UsageError, type Command } from '../command.js';
import { defineOptions, nameColumn } from '../option-table.js';
import { EXIT } from '../exit-codes.js';
import { ModelProgressReporter } from '../progress.js';

const FETCH_OPTIONS = defineOptions({
  force: { type: 'boolean', help: 'download and build again even when a verified model is cached' },
  'with-classifier': {
    type: 'boolean',
    help: [
      `use the full file (${KERAS_WEIGHTS_FULL.file}, ${(KERAS_WEIGHTS_FULL.bytes / 1e6).toFixed(1)} MB)`,
      'and add the ImageNet head: output "logits" [N,1000] (softmax = Keras predictions).',
      "Its sha256 is not pinned: the build's golden checks vouch for it.",
      'Cached under another name; never picked automatically.',
    ],
  },
  quiet: { type: 'boolean', help: 'no progress output' },
});

const BUILD_OPTIONS = defineOptions({
  from: { type: 'string', value: 'PATH', help: 'the .npy folder or the .h5 weights file (required)' },
  out: { type: 'string', value: 'FILE', help: 'the model to write, with its sidecar FILE.json (required)' },
  reference: {
    type: 'string',
    value: 'FILE',
    help: ['test_data_set/0/input_0.npy for the reference golden numbers (default: found in', 'the .npy folder or in FRUITS_MODEL_DIR)'],
  },
  quiet: { type: 'boolean', help: 'no progress output' },
});

const INFO_OPTIONS = defineOptions({ json: { type: 'boolean', help: 'print everything as JSON' } });

/** The subcommands' options are listed under each, in one column. */
const ROWS = { indent: 12, column: nameColumn(FETCH_OPTIONS, BUILD_OPTIONS, INFO_OPTIONS) };

const HELP = `Usage: fruits model fetch [--force] [--with-classifier] [--quiet]
       fruits model build --from <npy-folder|weights.h5> --out <model.onnx> [--reference FILE] [--quiet]
       fruits model info [model.onnx] [--json]

MobileNetV2 1.0/224 with the Keras ImageNet weights, as an ONNX feature extractor: input "input" float32
[N,224,224,3] NHWC, already normalised with x/127.5-1 (Keras preprocess_input; not part of the graph), output
"features" float32 [N,1280] (global average pool of the last 1x1 conv + ReLU6, = Keras layers[-2]).

  fetch   Downloads the official Keras weights (${KERAS_WEIGHTS_NO_TOP.file},
          ${(KERAS_WEIGHTS_NO_TOP.bytes / 1e6).toFixed(1)} MB, size and sha256 pinned) into the cache, builds the ONNX model, verifies it and
          caches it as <cache>/${BUILT_MODEL_FILE} with its sidecar <model>.json.
          \`fruits extract\` does this by itself on first use when no model is found. An interrupted download
          resumes (HTTP Range) on the next run; nothing half-written is ever used.
${FETCH_OPTIONS.rows(ROWS)}
  build   Builds the model from local weights: a per-tensor .npy folder with layer_map.json (BatchNorm already
          folded, e.g. shared/models/mobilenet_v2_1.0_224_nhwc_weights) or a Keras .h5 weights file (BatchNorm
          folded here, epsilon 1e-3). Writes <out> and <out>.json only if verification passes.
${BUILD_OPTIONS.rows(ROWS)}
  info    sha256, input/output contract, where the model came from (sidecar or known model), and a fresh run of
          the golden checks. Without a path: the model \`fruits extract\` would use.
${INFO_OPTIONS.rows(ROWS)}

Verification (after every build, and by info): the contract above, then features of fixed inputs against numbers
pinned in the code — a synthetic input made with integer arithmetic (runs everywhere), and the reference input of
shared/models/SOURCES.md when test_data_set is on this machine.

Environment:
  XDG_CACHE_HOME            cache root (default ~/.cache); the cache is <root>/fruits = ${modelCacheDir()}
  FRUITS_WEIGHTS_BASE_URL   where to download the Keras weights from (default ${weightsBaseUrl({})})
  FRUITS_MODEL, FRUITS_MODEL_DIR   a model to use instead of the cache (see fruits extract --help)

Exit codes: 0 ok, 1 info found a problem, 2 bad usage, 4 no model found, or its download, build or verification
failed (the table: fruits --help).
`;

export const modelCommand: Command = {
  name: 'model',
  summary: 'get, build and check the MobileNetV2 model (fetch | build | info)',
  help: HELP,
  options: [FETCH_OPTIONS, BUILD_OPTIONS, INFO_OPTIONS],
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'fetch') return fetch(rest);
    if (sub === 'build') return build(rest);
    if (sub === 'info') return info(rest);
    throw new UsageError(sub ? `unknown subcommand "${sub}" (expected fetch, build or info)` : 'expected a subcommand: fetch, build or info');
  },
};

async function fetch(argv: string[]): Promise<number> {
  const { values, positionals } = FETCH_OPTIONS.parse(argv);
  if (positionals.length > 0) throw new UsageError(`fetch takes no arguments (got ${positionals.join(' ')})`);
  const progress = new ModelProgressReporter(process.stderr, values.quiet);
  const result = await fetchModel({
    force: values.force,
    weights: values['with-classifier'] ? KERAS_WEIGHTS_FULL : KERAS_WEIGHTS_NO_TOP,
    onProgress: progress.handle,
  }).finally(() => progress.end());
  const what = result.download ? (result.download.cached ? 'built from the cached download' : 'downloaded and built') : 'already cached';
  process.stdout.write(
    `model      ${result.path} (${what})\nsha256     ${result.sha256}\nsidecar    ${sidecarPath(result.path)}\n` +
      describeChecks(result.sidecar.verification)
        .map((l) => `check      ${l}\n`)
        .join(''),
  );
  return 0;
}

async function build(argv: string[]): Promise<number> {
  const { values, positionals } = BUILD_OPTIONS.parse(argv);
  if (positionals.length > 0) throw new UsageError(`build takes options only (got ${positionals.join(' ')})`);
  if (!values.from || !values.out) throw new UsageError('build needs --from <npy-folder|weights.h5> and --out <model.onnx>');
  const progress = new ModelProgressReporter(process.stderr, values.quiet);
  const built = await buildModel({ from: values.from, out: values.out, referenceInput: values.reference, onProgress: progress.handle }).finally(() =>
    progress.end(),
  );
  process.stdout.write(
    `model      ${built.path}\nsha256     ${built.sha256}\nsidecar    ${sidecarPath(built.path)}\n` +
      `source     ${built.sidecar.source.kind} ${built.sidecar.source.path} (sha256 ${built.sidecar.source.sha256})\n` +
      describeChecks(built.sidecar.verification)
        .map((l) => `check      ${l}\n`)
        .join(''),
  );
  return 0;
}

interface ModelInfoReport {
  path: string;
  foundBy?: LocatedModel['source'];
  sha256: string;
  bytes: number;
  known?: { file: string; description: string; pinnedSha256: string; matches: boolean };
  sidecar?: ModelSidecar & { matchesFile: boolean };
  /** Absent when onnxruntime could not load the file (see problems). */
  verification?: VerificationReport;
  problems: string[];
}

async function info(argv: string[]): Promise<number> {
  const { values, positionals } = INFO_OPTIONS.parse(argv);
  if (positionals.length > 1) throw new UsageError('info takes at most one model path');
  let path: string;
  let foundBy: LocatedModel['source'] | undefined;
  if (positionals.length === 1) {
    path = resolve(positionals[0]);
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) {
      process.stderr.write(`fruits model info: ${path} is not a file\n`);
      return EXIT.model;
    }
  } else {
    const located = locateModel({}) ?? (await findBuiltModel().then((b) => (b ? ({ path: b.path, source: 'cache' } as const) : undefined)));
    if (!located) {
      process.stderr.write(
        `fruits model info: no model found (no --model, FRUITS_MODEL, FRUITS_MODEL_DIR, nothing in ${modelCacheDir()}). Run \`fruits model fetch\`.\n`,
      );
      return EXIT.model;
    }
    path = located.path;
    foundBy = located.source;
  }

  const sha256 = await sha256File(path);
  const problems: string[] = [];
  const knownModel = knownModelByFile(basename(path));
  const known = knownModel && {
    file: knownModel.file,
    description: knownModel.description,
    pinnedSha256: knownModel.sha256,
    matches: knownModel.sha256 === sha256,
  };
  if (known && !known.matches) problems.push(`sha256 differs from the pinned ${known.pinnedSha256} of ${known.file}`);
  const rawSidecar = readSidecar(path);
  const sidecar = rawSidecar && { ...rawSidecar, matchesFile: rawSidecar.model.sha256 === sha256 };
  if (sidecar && !sidecar.matchesFile)
    problems.push(`sha256 differs from the ${sidecar.model.sha256} its sidecar records: the file changed after it was built`);
  let verification: VerificationReport | undefined;
  try {
    verification = await verifyModel(path, { referenceInput: findReferenceInput() });
  } catch (error) {
    problems.push(`onnxruntime cannot run it: ${(error as Error).message.split('\n')[0]}`);
  }
  if (verification) {
    const unusable = pipelineContractProblem(verification);
    if (unusable) problems.push(`the pipeline cannot use it: ${unusable}`);
    for (const check of verification.checks) if (check.status === 'failed') problems.push(`golden check "${check.name}" failed`);
  }

  const report: ModelInfoReport = { path, foundBy, sha256, bytes: statSync(path).size, known, sidecar, verification, problems };
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatInfo(report));
  return problems.length === 0 ? 0 : 1;
}

/**
 * The golden checks need the Keras NHWC contract; the pipeline also runs NCHW feature extractors (ImageNet
 * mean/std, e.g. the ONNX-zoo model), which are fine to use but have no golden numbers here.
 */
function pipelineContractProblem(report: VerificationReport): string | undefined {
  if (report.contract.passed) return undefined;
  const [input, ...others] = report.inputs;
  const features = report.outputs.find((o) => o.name === 'features') ?? report.outputs[0];
  const nchw =
    input &&
    others.length === 0 &&
    input.type === 'float32' &&
    input.shape.length === 4 &&
    input.shape[1] === 3 &&
    input.shape[2] === 224 &&
    input.shape[3] === 224;
  const pooled = features && features.type === 'float32' && features.shape[features.shape.length - 1] === 1280;
  return nchw && pooled ? undefined : report.contract.problem;
}

function formatInfo(r: ModelInfoReport): string {
  const lines: string[] = [];
  const row = (label: string, text: string): void => {
    lines.push(`${label.padEnd(10)} ${text}`);
  };
  row('model', `${r.path}${r.foundBy ? ` (found via ${r.foundBy === 'option' ? '--model' : r.foundBy})` : ''}`);
  row('sha256', r.sha256);
  row('size', `${r.bytes.toLocaleString('en-US')} bytes`);
  const tensor = (t: { name: string; type: string; shape: (number | string)[] }): string => `${t.name} ${t.type} [${t.shape.join(',')}]`;
  if (r.verification) {
    row('input', r.verification.inputs.map(tensor).join('; '));
    row('outputs', r.verification.outputs.map(tensor).join('; '));
  }
  if (r.sidecar) {
    const s = r.sidecar;
    row('built', `${s.builtAt} by ${s.builder}; model sha256 ${s.matchesFile ? 'matches its sidecar' : 'DOES NOT match its sidecar'}`);
    row('source', `${s.source.kind} ${s.source.path} (sha256 ${s.source.sha256})`);
    if (s.source.download) {
      const d = s.source.download;
      row('download', `${d.url} (${d.bytes} bytes; ${d.pinnedSha256 ? 'sha256 pinned and matched' : 'no pinned sha256: vouched for by the golden checks'})`);
    }
    row('prep', s.preprocessing);
    row('verified', `at build time (${s.verification.checkedAt}): ${describeChecks(s.verification).join('; ')}`);
  } else if (r.known) {
    row(
      'known as',
      `${r.known.file}: ${r.known.description}; sha256 ${r.known.matches ? 'matches the pinned value' : `DIFFERS from the pinned ${r.known.pinnedSha256}`}`,
    );
  } else {
    row('origin', 'unknown (no sidecar, not a known model file)');
  }
  if (r.verification) for (const line of describeChecks(r.verification)) row('check', line);
  row('status', r.problems.length === 0 ? 'OK' : `PROBLEMS: ${r.problems.join('; ')}`);
  return `${lines.join('\n')}\n`;
}
