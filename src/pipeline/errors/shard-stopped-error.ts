import { FruitsError } from '../../errors/fruits-error.js';

/** The engine asked the thread to stop (Ctrl-C, another shard failed): the shard is left for a later run. */
export class ShardStoppedError extends FruitsError {
  static override readonly code: string = 'FRUITS_SHARD_STOPPED';
}
