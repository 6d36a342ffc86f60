import type { Manifest } from '../index.js';
import { formatSeconds } from './progress.js';

/** The human summary of a finished run, shared by `extract` (at the end) and `inspect`. */
export function formatSummary(m: Manifest): string {
  const t = m.timings;
  const ms = (x: number) => `${(x / 1000).toFixed(2)} s`;
  const lines = [
    `run        ${m.runId}  (${m.engine})`,
    `input      ${m.input}`,
    `output     ${m.output}`,
    `images     ${m.counts.features} with features, ${m.counts.errors} failed, ${m.counts.listed} listed, ${counted(m.counts.classes, 'class', 'classes')}, ${counted(m.counts.shards, 'shard')}`,
    `model      ${m.model.file} (sha256 ${m.model.sha256.slice(0, 16)}…), ${m.model.featureDim}-d features`,
    `pca        k = ${m.pca.k}, explained variance ${(m.pca.explainedVariance * 100).toFixed(2)}%` +
      ` (${'variance' in m.pca.choice ? `target ${m.pca.choice.variance}` : `fixed k`})`,
    `throughput ${m.throughput.imagesPerSecond.toFixed(1)} images/s over ${formatSeconds(t.totalMs / 1000)}`,
    `timings    list ${ms(t.listMs)} | featurize ${ms(t.featurizeMs)} | pca merge ${ms(t.pcaMergeMs)} fit ${ms(t.pcaFitMs)} | project ${ms(t.projectMs)} | commit ${ms(t.commitMs)}`,
    // Each figure is a wall time per pipeline thread, summed over the threads: read+decode is the time some reading
    // or decoding was under way (it overlaps inference), "model waited" the part of it inference sat idle for input.
    `threads    read+decode ${ms(t.workerMs.decode)} (overlaps inference; the model waited ${ms(t.workerMs.inputWait)} for input) | inference ${ms(t.workerMs.inference)} | ` +
      `moments ${ms(t.workerMs.moments)} | write ${ms(t.workerMs.write)} (each summed over the pipeline threads)`,
  ];
  if (m.counts.errors > 0) {
    lines.push(
      `errors     ${Object.entries(m.errors.byStage)
        .map(([s, n]) => `${s}: ${n}`)
        .join(', ')} — see errors/*.parquet`,
    );
    for (const e of m.errors.examples.slice(0, 5)) lines.push(`           ${e.path} [${e.stage}] ${e.message}`);
  }
  return `${lines.join('\n')}\n`;
}

/** "1 shard", "2 shards": a count with its noun. */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
