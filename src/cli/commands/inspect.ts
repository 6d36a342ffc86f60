import { listedProblems, openStorage, readRunStatus, verifyRun } from '../../index.js';
import { UsageError, type Command } from '../command.js';
import { defineOptions } from '../option-table.js';
import { EXIT } from '../exit-codes.js';
import { formatSummary } from '../summary.js';
import { describeProblems, describeVerified } from '../verification.js';

const OPTIONS = defineOptions({
  json: { type: 'boolean', help: 'print the manifest (or the progress of an unfinished run) as JSON' },
  classes: { type: 'boolean', help: 'also list every class' },
  verify: {
    type: 'boolean',
    help: [
      'read every part and check it against the manifest: each features, results and errors part and',
      'pca/model.json must be there with the rows, size and sha256 recorded at commit; lists what is',
      'missing or damaged (`fruits extract … --resume` redoes those shards)',
    ],
  },
});

const HELP = `Usage: fruits inspect <output> [--json] [--classes] [--verify]

Summarises a run folder written by \`fruits extract\`: counts, classes, feature and PCA dimensions, explained
variance, errors with examples, and per-stage timings. An unfinished run shows how many shards are done. A
finished run's parts are also listed and compared with the sizes its manifest recorded (no part is read).

${OPTIONS.help()}

Exit codes: 0 finished run (with --verify: and every part verified), 1 unfinished run, or a part missing or
damaged (of another size than recorded; with --verify, anything that does not match), 2 bad usage, 3 no run there.
`;

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'summary of a run folder: counts, classes, dims, variance, errors, timings',
  help: HELP,
  options: [OPTIONS],
  async run(argv) {
    const { values, positionals } = OPTIONS.parse(argv);
    if (positionals.length !== 1) throw new UsageError('expected one run folder');
    const output = openStorage(positionals[0]);
    const status = await readRunStatus(output);
    if (status.state === 'absent') {
      process.stderr.write(`${output.uri} holds no fruits run (no manifest.json or _tmp/plan.json)\n`);
      return EXIT.inputNotFound;
    }
    if (status.state === 'incomplete') {
      const { plan, featurized, projected } = status;
      const summary = {
        state: 'incomplete',
        runId: plan.spec.runId,
        input: plan.spec.input,
        images: plan.images,
        shards: plan.shards.length,
        featurized,
        projected,
      };
      if (values.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else
        process.stdout.write(
          `run        ${plan.spec.runId} (UNFINISHED: no _SUCCESS)\ninput      ${plan.spec.input}\n` +
            `progress   ${featurized}/${plan.shards.length} shards featurized, ${projected}/${plan.shards.length} projected (${plan.images} images)\n` +
            `resume     fruits extract ${plan.spec.input} ${plan.spec.output} --resume (with the same options)\n`,
        );
      return 1;
    }
    const { manifest } = status;
    const verification = values.verify ? await verifyRun(output, manifest) : undefined;
    const problems = verification ? verification.problems : await listedProblems(output, manifest);
    const failed = problems.length > 0;
    if (failed) {
      const resume = `fruits extract ${manifest.input} ${output.uri} --resume (with the run's options) redoes those shards`;
      process.stderr.write(describeProblems(output.uri, problems));
      process.stderr.write(
        verification
          ? `verification FAILED: ${problems.length} of ${verification.checked} parts missing or damaged in run ${manifest.runId}; ${resume}\n`
          : `${problems.length} part(s) of run ${manifest.runId} missing or not of the size recorded at commit (fruits inspect --verify checks every byte); ${resume}\n`,
      );
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(verification ? { ...manifest, verification } : manifest, null, 2)}\n`);
      return failed ? 1 : 0;
    }
    let text = formatSummary(manifest);
    text += `layout     features/ (${manifest.model.featureDim}-d), results/ (pca ${manifest.pca.k}-d), pca/model.json, errors/, manifest.json\n`;
    text += `variance   top components ${manifest.pca.top10Ratio.map((r) => (r * 100).toFixed(1) + '%').join(' ')}\n`;
    if (values.classes) text += `classes    ${manifest.classes.join(', ')}\n`;
    if (verification && !failed) text += `verified   ${describeVerified(verification)}\n`;
    process.stdout.write(text);
    return failed ? 1 : 0;
  },
};
