/**
 * Runs `fn` over `items` with at most `limit` calls in flight, and returns the results in the
 * order of `items`. The first rejection rejects the whole (the calls already started still run).
 * Fleet jobs, connector delivery and the JetStream store's parallel writes all bound their
 * concurrency with it.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
