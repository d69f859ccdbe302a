// The variance model the loop ranks its candidate cells with. Per source and N, the log of the
// per-N mean has variance tau² + v_N / k_N: k_N seeds at N, v_N the between-seed variance of ln y
// there (shrunk toward the source's pooled value; the pooled value at an N not yet run), tau² the
// N-level variance: what the fit's residuals hold beyond seed noise, floored at 0. From it, the
// expected half-width of each target's interval under a design (seeds per N per source). These
// predictions only rank actions; the intervals reported are always intervals.ts's.
import type { Curve } from './intervals.js';
import { mean } from './curve.js';
import { twoSidedT } from './quantile.js';

/** Seeds per N of one source: what it has results for plus what is chosen this round. */
export type Design = Map<number, number>;

/** A pooled seed variance's weight, in degrees of freedom, against one level's own estimate. */
const PRIOR_DF = 2;
/** The seed variance of ln y assumed before any N has 2 seeds (a 5% seed-to-seed sd). */
const FALLBACK_SEED_VARIANCE = 0.05 ** 2;

export interface NoiseModel {
  /** Predicted between-seed variance of ln y at N. */
  v(n: number): number;
  /** N-level variance of ln(mean) beyond seed noise. */
  tau2: number;
  /** The pooled seed variance of ln y and its degrees of freedom. */
  pooledV: number;
  pooledDf: number;
  /** The mean metric at N: the level's mean where there is one, else the fit's prediction. */
  yAt(n: number): number;
  /** ln a and b of the fit on per-N means (NaN without one). */
  lnA: number;
  b: number;
}

export function noiseModel(curve: Curve): NoiseModel {
  const { levels, fit, noise } = curve;
  const pooledV = Number.isFinite(noise.pooled) ? noise.pooled : FALLBACK_SEED_VARIANCE;
  const shrunk = new Map(
    levels.map((l, j) => {
      const own = noise.perLevel[j]!;
      const df = l.values.length - 1;
      return [l.n, Number.isFinite(own) ? (df * own + PRIOR_DF * pooledV) / (df + PRIOR_DF) : pooledV];
    }),
  );
  const v = (n: number) => shrunk.get(n) ?? pooledV;
  let tau2 = 0;
  if (fit && fit.df >= 1) {
    // E[rss] = sum_j (1 - h_jj) (tau² + v_j / k_j): what the residuals hold beyond the seeds' share is tau².
    const rss = fit.s2 * fit.df;
    const seedShare = levels.reduce((s, l, j) => s + (1 - 1 / fit.m - (fit.x[j]! - fit.xMean) ** 2 / fit.sxx) * (v(l.n) / l.values.length), 0);
    tau2 = Math.max(0, (rss - seedShare) / fit.df);
  }
  const levelMean = new Map(levels.map((l) => [l.n, mean(l.values)]));
  const yAt = (n: number) => levelMean.get(n) ?? (fit ? Math.exp(fit.lnA - fit.b * Math.log(n)) : Number.NaN);
  return { v, tau2, pooledV, pooledDf: noise.df, yAt, lnA: fit?.lnA ?? Number.NaN, b: fit?.b ?? Number.NaN };
}

const tq = twoSidedT;

/** A design's regression geometry in ln N and the expected residual variance of its fit. */
export interface SlopePrediction {
  /** Expected half-width of the reported slope interval (infinite below 3 distinct N). */
  halfWidth: number;
  m: number;
  decades: number;
  xMean: number;
  sxx: number;
  /** Expected residual variance of the fit on per-N means. */
  s2: number;
  df: number;
  /** Mean seed share v_N / k_N over the levels, against tau². */
  seedShare: number;
}

/**
 * The slope interval expected under a design: the fit's t-interval with E[s²] = sum (1 - h_jj)
 * sigma_j² / (m - 2) (OLS on per-N means of unequal variance sigma_j² = tau² + v_j / k_j), and the
 * seed-noise t-interval (seed noise alone, on the design's seed df); the larger, as intervals.ts
 * reports their hull (the seed bootstrap's is narrower than the seed-noise one).
 */
export function predictSlope(model: NoiseModel, design: Design, level: number): SlopePrediction {
  const ns = [...design.keys()].sort((a, b) => a - b);
  const m = ns.length;
  const x = ns.map(Math.log);
  const xMean = m ? mean(x) : 0;
  const sxx = x.reduce((s, v) => s + (v - xMean) ** 2, 0);
  const seed = ns.map((n) => model.v(n) / design.get(n)!);
  const seedShare = m ? mean(seed) : Number.NaN;
  const decades = m ? Math.log10(ns[m - 1]! / ns[0]!) : 0;
  if (m < 3 || !(sxx > 0)) return { halfWidth: Number.POSITIVE_INFINITY, m, decades, xMean, sxx, s2: Number.NaN, df: m - 2, seedShare };
  let ers = 0;
  let seedVar = 0;
  x.forEach((xj, j) => {
    ers += (1 - 1 / m - (xj - xMean) ** 2 / sxx) * (model.tau2 + seed[j]!);
    seedVar += ((xj - xMean) / sxx) ** 2 * seed[j]!;
  });
  const seedDf = ns.reduce((s, n) => s + design.get(n)! - 1, 0);
  const s2 = ers / (m - 2);
  const halfWidth = Math.max(tq(level, m - 2) * Math.sqrt(s2 / sxx), tq(level, seedDf) * Math.sqrt(seedVar));
  return { halfWidth, m, decades, xMean, sxx, s2, df: m - 2, seedShare };
}

/** A ratio's half-width from its two slopes' (delta method): sqrt(hw_s² + R² hw_r²) / b_r. */
export function predictRatio(source: SlopePrediction, real: SlopePrediction, ratio: number, realB: number): number {
  if (!(realB > 0)) return Number.POSITIVE_INFINITY;
  return Math.sqrt(source.halfWidth ** 2 + ratio ** 2 * real.halfWidth ** 2) / realB;
}

/** The Welch half-width of a difference of two means at N, each from its seed noise (on the metric's own scale). */
export function predictGap(a: { model: NoiseModel; k: number }, b: { model: NoiseModel; k: number }, n: number, level: number): number {
  const q = [a, b].map(({ model, k }) => (k >= 2 ? (model.v(n) * model.yAt(n) ** 2) / k : Number.NaN));
  if (q.some((x) => !Number.isFinite(x))) return Number.POSITIVE_INFINITY;
  const [qa, qb] = q as [number, number];
  const df = qa + qb > 0 ? (qa + qb) ** 2 / (qa ** 2 / (a.k - 1) + qb ** 2 / (b.k - 1)) : a.k + b.k - 2;
  return tq(level, df) * Math.sqrt(qa + qb);
}

/**
 * The half-width of ln N_eq (delta method): the real fit's prediction variance at ln N_eq,
 * s²(1/m + (x_eq - x̄)² / sxx), and the source mean's seed variance, over b_r. A real N near the
 * equivalent moves x̄ toward it and narrows the first term.
 */
export function predictEquivalent(real: SlopePrediction, realB: number, lnNeq: number, source: { model: NoiseModel; k: number }, level: number): number {
  if (!(realB > 0) || !(real.df >= 1) || !Number.isFinite(lnNeq) || source.k < 1) return Number.POSITIVE_INFINITY;
  const fitPart = tq(level, real.df) ** 2 * real.s2 * (1 / real.m + (lnNeq - real.xMean) ** 2 / real.sxx);
  const srcPart = tq(level, Math.max(1, source.model.pooledDf)) ** 2 * (source.model.pooledV / source.k);
  return Math.sqrt(fitPart + srcPart) / realB;
}
