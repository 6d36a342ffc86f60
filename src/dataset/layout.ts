/**
 * Where everything of a run lives under its output root. Part names come from the shard index only, never from
 * a worker or a time, so a retried or duplicated shard overwrites its own part: one copy of every image.
 *
 * @module
 */

/** `part-00042.parquet` for shard 42: the name every copy of that shard's part has, whichever worker wrote it. */
export function partName(shard: number, extension = 'parquet'): string {
  return `part-${String(shard).padStart(5, '0')}.${extension}`;
}

export const layout = {
  features: (shard: number) => `features/${partName(shard)}`,
  results: (shard: number) => `results/${partName(shard)}`,
  errors: (shard: number) => `errors/${partName(shard)}`,
  /** Scenes made from the references of features part `shard` and their features (fruits train). */
  augmented: (shard: number) => `augmented/${partName(shard)}`,
  /** A few of those scenes as JPEG, for a person to see what the classifier learns from. */
  augmentedExample: (name: string) => `augmented/examples/${name}`,
  /** The classifier trained for real photos (fruits train) and its report. */
  trainedClassifier: 'classifier/model.json',
  trainingReport: 'classifier/report.json',
  /** The probe classifier serve, identify and evaluate fit on a run's results and cache beside them. */
  probeClassifier: 'classifier/probe.json',
  /** The folder of each kind of file, for listings (every key above starts with its folder). */
  folders: {
    features: 'features/',
    results: 'results/',
    errors: 'errors/',
    pca: 'pca/',
    moments: '_tmp/moments/',
    featurized: '_tmp/featurized/',
    classifier: 'classifier/',
    augmented: 'augmented/',
  },
  pcaModel: 'pca/model.json',
  manifest: 'manifest.json',
  success: '_SUCCESS',
  /** Scratch space of a run in progress; removed by the commit. Readers skip names starting with '_'. */
  tmp: '_tmp/',
  plan: '_tmp/plan.json',
  moments: (shard: number) => `_tmp/moments/${partName(shard, 'bin')}`,
  /** Node `node` of level `level` (≥ 1) of the tree reduce: the merged moments of the shards under it. */
  mergedMoments: (level: number, node: number) => `_tmp/merged/L${level}/${partName(node, 'bin')}`,
  /** The model a distributed run's workers download (content-addressed: the same key is the same bytes). */
  broadcastModel: (sha256: string) => `_tmp/model/${sha256}.onnx`,
  /** When the coordinator queued the run, and what the reduce measured (distributed runs, for the manifest). */
  engineStarted: '_tmp/engine/started.json',
  engineReduce: '_tmp/engine/reduce.json',
  /** Written last by featurize, with the record of the parts it wrote: --resume skips the shard while they match. */
  featurized: (shard: number) => `_tmp/featurized/${partName(shard, 'json')}`,
} as const;
