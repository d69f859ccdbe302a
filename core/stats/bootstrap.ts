// Percentile bootstrap: seeded resampling with replacement and percentile intervals that say when
// they are unbounded. Pure functions over a caller's Rng (core/rng.ts), no I/O.
import type { Rng } from '../rng.js';

/**
 * A percentile interval over bootstrap draws. An end is null when it is unbounded: more than the
 * tail share of draws failed (NaN: the quantity was undefined there) or sat at a search bound.
 */
export interface PercentileInterval {
  lo: number | null;
  hi: number | null;
  /** Bootstrap draws taken. */
  draws: number;
  /** Draws where the quantity was undefined (e.g. a fit with no positive exponent). */
  failed: number;
}

/** Linear-interpolation quantile (Hyndman-Fan type 7) of ascending values; NaN when empty. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * p;
  const i = Math.floor(h);
  const lo = sorted[i]!;
  return i + 1 < n ? lo + (h - i) * (sorted[i + 1]! - lo) : lo;
}

/**
 * The two-sided percentile interval of `values` (one per draw; NaN or ±Infinity = a failed draw).
 * `atBound` counts draws pinned to a search bound below / above: they and the failures leave an
 * end open (null) when they exceed the tail share (1 - level) / 2 of all draws.
 */
export function percentileInterval(
  values: ArrayLike<number>,
  level = 0.95,
  atBound: { below: number; above: number } = { below: 0, above: 0 },
): PercentileInterval {
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) finite.push(v);
  }
  const draws = values.length;
  const failed = draws - finite.length;
  const tail = ((1 - level) / 2) * draws;
  finite.sort((p, q) => p - q);
  const alpha = (1 - level) / 2;
  const lo = failed + atBound.below > tail || finite.length === 0 ? null : quantileSorted(finite, alpha);
  const hi = failed + atBound.above > tail || finite.length === 0 ? null : quantileSorted(finite, 1 - alpha);
  return { lo, hi, draws, failed };
}

/** `count` indices drawn uniformly with replacement from [0, n), written into `out` from `at`. */
export function resampleInto(rng: Rng, n: number, count: number, out: Uint32Array, at = 0): void {
  for (let j = 0; j < count; j++) out[at + j] = rng.int(n);
}
