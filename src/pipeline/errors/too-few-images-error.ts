import { FruitsError } from '../../errors/fruits-error.js';

/** Fewer than 2 images have features: no covariance, no PCA. The CLI treats it as an unusable input (exit 3). */
export class TooFewImagesError extends FruitsError {
  static override readonly code: string = 'FRUITS_TOO_FEW_IMAGES';
}
