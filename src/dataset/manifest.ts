import type { RunOptions } from './run-spec.js';
import type { PartRecord } from './part-record.js';

/**
 * One shard of a finished run as the commit found it: what featurize reported (images, errors, worker time) and
 * the record of each of its parts. `fruits inspect --verify` and `--resume` compare the parts with these.
 */
export interface ShardRecord {
  shard: number;
  /** Images of the shard in the plan (features rows + failed images). */
  images: number;
  featurized: { images: number; errors: number; timings: { decode: number; inputWait: number; inference: number; moments: number; write: number } };
  features: PartRecord;
  results: PartRecord;
  /** Present when the shard had failed images. */
  errors?: PartRecord;
}

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
  /** Per shard, in shard order (absent in runs made before parts were recorded). */
  parts?: ShardRecord[];
  /** sha256 of the plan's shards (keys, labels, sizes): a finished run re-planned for --resume must list the same. */
  planSha256?: string;
  /** pca/model.json as committed. */
  pcaModelFile?: { bytes: number; sha256: string };
}
