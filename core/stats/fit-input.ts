// What the power-law fits share: their input check (one positive, finite y per positive, finite N,
// at least 2 distinct N) and the closed-form straight-line fit both build on.
import { assertSameLength } from './monotone.js';

/** Throws a RangeError naming `fn` on unusable input; returns the number of distinct N. */
export function validatePositive(ns: readonly number[], ys: readonly number[], fn: string): number {
  assertSameLength(ns, ys, fn);
  ns.forEach((n, i) => {
    if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${fn}: N must be finite and > 0, got ns[${i}] = ${n}`);
  });
  ys.forEach((y, i) => {
    if (!Number.isFinite(y) || y <= 0)
      throw new RangeError(`${fn}: y must be finite and > 0 to fit in log space, got ys[${i}] = ${y}`);
  });
  const distinct = new Set(ns).size;
  if (distinct < 2) throw new RangeError(`${fn}: need at least 2 distinct N, got ${distinct}`);
  return distinct;
}

/** Closed-form simple linear regression y = intercept + slope x (slope NaN when x has no spread). */
export function simpleRegression(x: ArrayLike<number>, y: ArrayLike<number>): { intercept: number; slope: number } {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    sxx += dx * dx;
    sxy += dx * (y[i]! - my);
  }
  const slope = sxx > 0 ? sxy / sxx : Number.NaN;
  return { intercept: my - slope * mx, slope };
}
