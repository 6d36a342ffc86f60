/**
 * The PCA layer's errors, one class per file under errors/.
 *
 * @module
 */
export { PcaFormatError } from './errors/pca-format-error.js';
