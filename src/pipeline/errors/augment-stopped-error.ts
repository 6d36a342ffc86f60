import { ShardStoppedError } from './shard-stopped-error.js';

/** The engine asked the thread to stop during augmentation: the shard's part is not written, it stays to do. */
export class AugmentStoppedError extends ShardStoppedError {}
