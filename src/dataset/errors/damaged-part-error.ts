import { FruitsError } from '../../errors/fruits-error.js';

/** Thrown when a part a stage needs does not read back: names the file, says how to redo it. */
export class DamagedPartError extends FruitsError {
  static override readonly code: string = 'FRUITS_DAMAGED_PART';
}
