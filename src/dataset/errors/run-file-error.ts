import { FruitsError, type FruitsErrorOptions } from '../../errors/fruits-error.js';

/**
 * A run file (plan, manifest, featurize marker) that does not read back as fruits writes it: not JSON, or a field
 * missing or of the wrong kind. `key` is the file under the run's root; `cause` the JSON or schema error.
 */
export class RunFileError extends FruitsError {
  static override readonly code: string = 'FRUITS_RUN_FILE_INVALID';

  readonly key?: string;

  constructor(message: string, options: FruitsErrorOptions & { key?: string } = {}) {
    super(message, options);
    this.key = options.key;
  }
}
