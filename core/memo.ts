// Per-process memoization of async loads (datasets, models, decoded shards) that workers reuse
// across activities. A failed load is forgotten so the next call retries it.
export function memoizePromise<T>(
  cache: Map<string, Promise<T>>,
  key: string,
  load: () => Promise<T>,
  maxEntries = Number.POSITIVE_INFINITY,
): Promise<T> {
  let pending = cache.get(key);
  if (!pending) {
    pending = load();
    // Evict the oldest entry (Map keeps insertion order).
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  return pending;
}
