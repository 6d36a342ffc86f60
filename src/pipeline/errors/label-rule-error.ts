import { InvalidOptionError } from '../../errors/fruits-error.js';

/** A --label-from value that is not parent, first, none or a regex with a capture group (exit code 2). */
export class LabelRuleError extends InvalidOptionError {
  static override readonly code: string = 'FRUITS_LABEL_RULE';
}
