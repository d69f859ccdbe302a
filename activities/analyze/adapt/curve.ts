// One source's curve as the adaptive loop reads it: per N, the metric of each seed; the power law
// fitted by least squares on the per-N means (as the analysis fits it), with its residual variance;
// and the between-seed variance of ln y, per N and pooled over N.
import { fitLogLog } from '../../../core/stats/powerlaw.js';
import type { CellMetrics } from '../../../contracts/types.js';

export type CurveMetric = 'error' | 'loss' | 'accuracy';

/** One N of a curve: its seeds (ascending) and the metric of each. */
export interface Level {
  n: number;
  seeds: number[];
  values: number[];
}

export function metricOf(c: CellMetrics, metric: CurveMetric): number {
  return metric === 'loss' ? c.loss : metric === 'accuracy' ? c.accuracy : 1 - c.accuracy;
}

/** A source's levels on one eval set, N ascending (a seed evaluated twice counts once: its last result). */
export function curveLevels(cells: readonly CellMetrics[], source: string, evalSet: string, metric: CurveMetric): Level[] {
  const byN = new Map<number, Map<number, number>>();
  for (const c of cells) {
    if (c.source !== source || c.evalSet !== evalSet) continue;
    const at = byN.get(c.size) ?? new Map<number, number>();
    at.set(c.seed, metricOf(c, metric));
    byN.set(c.size, at);
  }
  return [...byN.keys()]
    .sort((a, b) => a - b)
    .map((n) => {
      const seeds = [...byN.get(n)!.keys()].sort((a, b) => a - b);
      return { n, seeds, values: seeds.map((s) => byN.get(n)!.get(s)!) };
    });
}

export const mean = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s / xs.length;
};

/** Sample variance (n - 1 denominator); NaN below 2 values. */
export function sampleVariance(xs: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
}

/**
 * ln y = c + beta (ln N - xMean) fitted to the per-N means: b = -beta, ln a = c - beta xMean. The
 * centred intercept c and the slope are uncorrelated, with variances s2/m and s2/sxx.
 */
export interface MeansFit {
  ns: number[];
  /** ln N per level. */
  x: number[];
  /** ln of the per-N mean per level. */
  z: number[];
  m: number;
  xMean: number;
  sxx: number;
  c: number;
  b: number;
  lnA: number;
  /** Residual variance rss / (m - 2); NaN with fewer than 3 levels. */
  s2: number;
  df: number;
}

/** The fit on per-N means; null when a mean is not positive or there are fewer than 2 distinct N. */
export function fitMeans(levels: readonly Level[]): MeansFit | null {
  if (levels.length < 2) return null;
  const means = levels.map((l) => mean(l.values));
  if (means.some((y) => !(y > 0))) return null;
  const x = levels.map((l) => Math.log(l.n));
  const z = means.map(Math.log);
  const { lnA, b } = fitLogLog(x, z);
  const m = x.length;
  const xMean = mean(x);
  const sxx = x.reduce((s, v) => s + (v - xMean) ** 2, 0);
  const rss = x.reduce((s, v, i) => s + (z[i]! - (lnA - b * v)) ** 2, 0);
  const df = m - 2;
  return { ns: levels.map((l) => l.n), x, z, m, xMean, sxx, c: lnA - b * xMean, b, lnA, s2: df > 0 ? rss / df : Number.NaN, df };
}

/** ln N where the fit reaches ln y (NaN unless b > 0). */
export function invertFit(fit: { lnA: number; b: number }, lnY: number): number {
  return fit.b > 0 ? (fit.lnA - lnY) / fit.b : Number.NaN;
}

/**
 * The between-seed variance of ln y: per level (NaN with one seed) and pooled over the levels with
 * 2 or more seeds, weighted by their degrees of freedom. Multiplicative seed noise (a constant sd of
 * ln y across N) is what makes pooling honest; a per-level estimate from 2 seeds has 1 df.
 */
export interface SeedNoise {
  perLevel: number[];
  pooled: number;
  df: number;
}

export function seedNoise(levels: readonly Level[]): SeedNoise {
  let sum = 0;
  let df = 0;
  const perLevel = levels.map((l) => {
    if (l.values.some((v) => !(v > 0))) return Number.NaN;
    const v = sampleVariance(l.values.map(Math.log));
    if (Number.isFinite(v)) {
      sum += v * (l.values.length - 1);
      df += l.values.length - 1;
    }
    return v;
  });
  return { perLevel, pooled: df > 0 ? sum / df : Number.NaN, df };
}
