import { FruitsError } from '../../errors/fruits-error.js';

/** A pca/model.json (or moments file) that is not in a format this version reads: another tool's, or damaged. */
export class PcaFormatError extends FruitsError {
  static override readonly code: string = 'FRUITS_PCA_FORMAT';
}
