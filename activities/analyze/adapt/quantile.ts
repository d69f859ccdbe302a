// The two-sided t quantile at a confidence level, memoized: the loop asks for the same few (level,
// df) pairs thousands of times per decision, and each is a bisection over the incomplete beta.
import { studentTQuantile } from '../../../core/stats/student-t.js';

const cache = new Map<string, number>();
const CACHE_CAP = 4096;

/** t(1 - (1 - level) / 2, df); infinite when df is not positive, the normal quantile when df is huge. */
export function twoSidedT(level: number, df: number): number {
  if (!(df > 0)) return Number.POSITIVE_INFINITY;
  const key = `${level}|${df > 1e6 ? 1e6 : df}`;
  let q = cache.get(key);
  if (q === undefined) {
    if (cache.size >= CACHE_CAP) cache.clear();
    q = studentTQuantile(1 - (1 - level) / 2, df > 1e6 ? 1e6 : df);
    cache.set(key, q);
  }
  return q;
}
