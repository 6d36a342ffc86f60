import type { PartRecord } from './part-record.js';

/**
 * Worker-side time per step of a shard, in milliseconds (summed over workers in the manifest). Reading and
 * decoding of the next batches overlap inference: `decode` is the wall time during which some reading or decoding
 * was under way (never more than the shard's wall time), `inputWait` the part of it the thread actually waited
 * for (not hidden behind inference).
 */
export interface ShardTimings {
  decode: number;
  inputWait: number;
  inference: number;
  moments: number;
  write: number;
}

/**
 * `_tmp/featurized/part-NNNNN.json`: what featurize did with one shard, written last, after its parts. Its
 * presence says the shard is featurized (while its parts still match the records in it).
 */
export interface FeaturizeResult {
  shard: number;
  images: number;
  errors: number;
  timings: ShardTimings;
  /**
   * The files the shard wrote, as written (absent in markers made before they were recorded): --resume redoes a
   * shard whose part no longer matches, and the commit copies these into the manifest.
   */
  parts?: { features: PartRecord; errors?: PartRecord; moments?: { bytes: number } };
}
