/** One issue of a schema check, as zod reports it (structural, so any zod copy's errors fit). */
export interface SchemaIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * A schema error's issues on one line, `path: message; …`, for the message of the error that wraps it (the
 * schema error itself is kept as its cause). `root` names an issue on the checked value itself, which has no path.
 *
 * @example
 * ```ts
 * const parsed = schema.safeParse(json);
 * if (!parsed.success) throw new RunFileError(`not a plan: ${describeIssues(parsed.error, '(top)', { limit: 5 })}`, { cause: parsed.error });
 * ```
 */
export function describeIssues(
  error: { readonly issues: readonly SchemaIssue[] },
  root: string,
  options: { limit?: number; message?: (issue: SchemaIssue) => string } = {},
): string {
  const { limit = error.issues.length, message = (issue) => issue.message } = options;
  return error.issues
    .slice(0, limit)
    .map((issue) => `${issue.path.join('.') || root}: ${message(issue)}`)
    .join('; ');
}
