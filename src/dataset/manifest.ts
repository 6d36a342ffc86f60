import type { RunOptions } from '../pipeline/run-spec.js';

/** manifest.json: what a finished run is, written just before _SUCCESS. */
export interface Manifest {
  format: 'fruits-run/1';
  runId: string;
  fingerprint: string;
  input: string;
  output: string;
  engine: string;
  createdAt: string;
  completedAt: string;
  options: RunOptions;
  model: {
    file: string;
    /** Absolute path of the model file extract used (runs made before it was recorded have none). */
    path?: string;
    sha256: string;
    inputName: string;
    outputName: string;
    layout: string;
    preprocessing: string;
    inputSize: number;
    featureDim: number;
  };
  preprocessing: { resize: string; normalisation: string; orientation: string; colour: string };
  counts: { listed: number; features: number; errors: number; classes: number; shards: number };
  classes: string[];
  errors: { byStage: Record<string, number>; examples: { path: string; stage: string; message: string }[] };
  pca: { k: number; choice: RunOptions['pca']; explainedVariance: number; top10Ratio: number[] };
  timings: {
    totalMs: number;
    listMs: number;
    featurizeMs: number;
    pcaMergeMs: number;
    pcaFitMs: number;
    projectMs: number;
    commitMs: number;
    /** Summed over workers: where worker time went. */
    workerMs: { decode: number; inputWait: number; inference: number; moments: number; write: number };
  };
  throughput: { imagesPerSecond: number };
  software: Record<string, string>;
}
