import { FruitsError } from '../../../errors/fruits-error.js';

/** A distributed run that cannot finish: a shard failed all its attempts. The message names the shard and cause. */
export class RunFailedError extends FruitsError {
  static override readonly code: string = 'FRUITS_RUN_FAILED';

  constructor(
    message: string,
    readonly failures: { stage: string; shard?: number; attempts: number; reason: string }[],
  ) {
    super(message);
  }
}
