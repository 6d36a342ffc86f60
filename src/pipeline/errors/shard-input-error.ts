import { FruitsError } from '../../errors/fruits-error.js';

/** An image of the shard that cannot be read; `message` is what errors/ records. */
export class ShardInputError extends FruitsError {
  static override readonly code: string = 'FRUITS_SHARD_INPUT';
}
