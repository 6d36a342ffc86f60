import { FruitsError } from '../../errors/fruits-error.js';

/**
 * The catalog data is malformed. Every problem found is listed, so one run of the tests shows them all
 * rather than one per edit.
 */
export class CatalogError extends FruitsError {
  static override readonly code: string = 'FRUITS_CATALOG';

  constructor(
    readonly problems: readonly string[],
    options: { cause?: unknown } = {},
  ) {
    super(
      problems.length === 1
        ? `Fruit catalog is invalid: ${problems[0]}`
        : `Fruit catalog is invalid (${problems.length} problems):\n  - ${problems.join('\n  - ')}`,
      options,
    );
  }
}
