/** `fn` over `items` with at most `limit` calls in flight; results in the order of `items`. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** Parts read at once while checking a run: 8 features parts are ~21 MB in memory, enough to overlap S3 reads. */
export const READ_CONCURRENCY = 8;
