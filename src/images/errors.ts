/**
 * The images layer's errors, one class per file under errors/.
 *
 * @module
 */
export { ImageDecodeError, type ImageDecodeReason } from './errors/image-decode-error.js';
