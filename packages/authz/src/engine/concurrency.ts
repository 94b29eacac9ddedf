/**
 * Run `fn` over `items` with at most `limit` calls in flight, in order of start. `fn` resolving false
 * stops new calls; the first error stops new calls and is thrown once the running ones settle.
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<boolean>,
): Promise<void> {
  let next = 0;
  let stop = false;
  let error: unknown;
  const worker = async () => {
    while (!stop && next < items.length) {
      const item = items[next++]!;
      try {
        if ((await fn(item)) === false) stop = true;
      } catch (err) {
        error ??= err;
        stop = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (error !== undefined) throw error;
}
