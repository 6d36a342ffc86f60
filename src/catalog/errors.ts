/**
 * The catalog's errors, one class per file under errors/.
 *
 * @module
 */
export { CatalogError } from './errors/catalog-error.js';
