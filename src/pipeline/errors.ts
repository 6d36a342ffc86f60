/**
 * The pipeline's errors, one class per file under errors/.
 *
 * @module
 */
export { AugmentStoppedError } from './errors/augment-stopped-error.js';
export { EmptyInputError } from './errors/empty-input-error.js';
export { GlobPatternError } from './errors/glob-pattern-error.js';
export { LabelRuleError } from './errors/label-rule-error.js';
export { OutputConflictError } from './errors/output-conflict-error.js';
export { ShardInputError } from './errors/shard-input-error.js';
export { ShardStoppedError } from './errors/shard-stopped-error.js';
export { TooFewImagesError } from './errors/too-few-images-error.js';
