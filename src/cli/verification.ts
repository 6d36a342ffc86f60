import type { PartProblem, Verification } from '../index.js';

/** "all 95 parts verified against the manifest (…)": the good outcome of `verifyRun`, in one line. */
export function describeVerified(v: Verification): string {
  return (
    `all ${v.checked} parts verified against the manifest (${v.rows} feature rows, ${(v.bytes / 1e6).toFixed(1)} MB read in ${(v.ms / 1000).toFixed(1)} s)` +
    (v.recorded ? '' : ' (footers and the row total only: this run records no part sizes)')
  );
}

/** One line per missing or damaged part, e.g. "MISSING  features/part-00001.parquet". */
export function describeProblems(root: string, problems: PartProblem[]): string {
  return problems
    .map((p) => `${p.problem === 'missing' ? 'MISSING' : 'DAMAGED'}  ${root.replace(/\/+$/, '')}/${p.key}${p.problem === 'missing' ? '' : `: ${p.problem}`}\n`)
    .join('');
}
