/**
 * The catalog data is malformed. Every problem found is listed, so one run of the tests shows them all
 * rather than one per edit.
 */
export class CatalogError extends Error {
  override name = 'CatalogError';
  constructor(readonly problems: readonly string[]) {
    super(
      problems.length === 1
        ? `Fruit catalog is invalid: ${problems[0]}`
        : `Fruit catalog is invalid (${problems.length} problems):\n  - ${problems.join('\n  - ')}`,
    );
  }
}
