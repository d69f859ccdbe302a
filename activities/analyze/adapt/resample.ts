// The two kinds of draws every interval of the loop is built from:
// - fit draws: the power law's coefficients drawn from their sampling distribution under the fit
//   on per-N means (a bivariate t with distinct N - 2 degrees of freedom). Its residual variance
//   holds seed noise and N-level scatter alike, so it sees effects shared by all seeds at one N;
// - seed-noise t draws: the same coefficients drawn from seed noise alone, each per-N mean with
//   variance v / k_N (v the seed variance of ln y pooled over N, with its many degrees of freedom).
//   Blind to N-level effects, but a floor no lucky fit can undercut: unlike the residuals' m - 2 df,
//   and unlike a bootstrap of 2 seeds (which shrinks their variance by half and has 3 values);
// - seed draws: seeds resampled with replacement within each N, the per-N means recomputed and the
//   power law refitted (as activities/analyze/draws.ts does). It sees only seed noise, but reads it
//   from every seed without a normal model.
// Both are seeded, so an interval is a deterministic function of the cells.
import { createRng, type Rng } from '../../../core/rng.js';
import { resampleInto } from '../../../core/stats/bootstrap.js';
import { fitLogLog } from '../../../core/stats/powerlaw.js';
import type { Level, MeansFit, SeedNoise } from './curve.js';

/** Per draw, ln a and b of y = a N^-b. */
export interface CoefficientDraws {
  lnA: Float64Array;
  b: Float64Array;
}

/** A chi-square variate with integer `df` degrees of freedom. */
function chiSquare(rng: Rng, df: number): number {
  let s = 0;
  for (let i = 0; i < df; i++) s += rng.normal() ** 2;
  return s;
}

/** `draws` t variates with `df` degrees of freedom (standard normal when df is not finite). */
export function tVariates(rng: Rng, df: number, draws: number): Float64Array {
  const out = new Float64Array(draws);
  for (let d = 0; d < draws; d++) out[d] = Number.isFinite(df) ? rng.normal() / Math.sqrt(chiSquare(rng, df) / df) : rng.normal();
  return out;
}

/** Fit draws (needs 3 or more distinct N); null when the fit has no residual degrees of freedom. */
export function fitDraws(fit: MeansFit, draws: number, rng: Rng): CoefficientDraws | null {
  if (!(fit.df >= 1) || !Number.isFinite(fit.s2)) return null;
  const lnA = new Float64Array(draws);
  const b = new Float64Array(draws);
  const sc = Math.sqrt(fit.s2 / fit.m);
  const sb = Math.sqrt(fit.s2 / fit.sxx);
  for (let d = 0; d < draws; d++) {
    // One chi-square per draw for both coefficients: they share the residual variance estimate.
    const w = 1 / Math.sqrt(chiSquare(rng, fit.df) / fit.df);
    const c = fit.c + sc * rng.normal() * w;
    const beta = -fit.b + sb * rng.normal() * w;
    b[d] = -beta;
    lnA[d] = c - beta * fit.xMean;
  }
  return { lnA, b };
}

/** The seed-noise standard deviations of the fit's centred intercept and slope, and their covariance (unequal k makes it nonzero). */
export function seedNoiseCovariance(levels: readonly Level[], fit: MeansFit, v: number): { varC: number; varBeta: number; cov: number } {
  let varC = 0;
  let varBeta = 0;
  let cov = 0;
  levels.forEach((l, j) => {
    const q = v / l.values.length;
    const w = (fit.x[j]! - fit.xMean) / fit.sxx;
    varC += q / fit.m ** 2;
    varBeta += w * w * q;
    cov += (w * q) / fit.m;
  });
  return { varC, varBeta, cov };
}

/** Seed-noise t draws (needs some N with 2 seeds); null without a pooled seed variance. */
export function seedNoiseDraws(levels: readonly Level[], fit: MeansFit, noise: SeedNoise, draws: number, rng: Rng): CoefficientDraws | null {
  if (!(noise.df >= 1) || !Number.isFinite(noise.pooled)) return null;
  const { varC, varBeta, cov } = seedNoiseCovariance(levels, fit, noise.pooled);
  const l11 = Math.sqrt(varC);
  const l21 = l11 > 0 ? cov / l11 : 0;
  const l22 = Math.sqrt(Math.max(0, varBeta - l21 * l21));
  const lnA = new Float64Array(draws);
  const b = new Float64Array(draws);
  for (let d = 0; d < draws; d++) {
    const w = 1 / Math.sqrt(chiSquare(rng, noise.df) / noise.df);
    const z1 = rng.normal();
    const z2 = rng.normal();
    const c = fit.c + l11 * z1 * w;
    const beta = -fit.b + (l21 * z1 + l22 * z2) * w;
    b[d] = -beta;
    lnA[d] = c - beta * fit.xMean;
  }
  return { lnA, b };
}

/** Seed draws: the resampled per-N means (metric units, per level) and the power law refitted to each draw. */
export interface SeedDraws extends CoefficientDraws {
  means: Float64Array[];
}

/** Seeded by `key` alone, so one curve's draws do not depend on which other curves were drawn. */
export function seedDraws(levels: readonly Level[], draws: number, key: string): SeedDraws {
  const rng = createRng(key);
  const means = levels.map((level) => {
    const k = level.values.length;
    const picks = new Uint32Array(k);
    const out = new Float64Array(draws);
    for (let d = 0; d < draws; d++) {
      resampleInto(rng, k, k, picks);
      let s = 0;
      for (let j = 0; j < k; j++) s += level.values[picks[j]!]!;
      out[d] = s / k;
    }
    return out;
  });
  const lx = levels.map((l) => Math.log(l.n));
  const ly = new Float64Array(levels.length);
  const lnA = new Float64Array(draws);
  const b = new Float64Array(draws);
  for (let d = 0; d < draws; d++) {
    for (let k = 0; k < levels.length; k++) {
      const y = means[k]![d]!;
      ly[k] = y > 0 ? Math.log(y) : Number.NaN;
    }
    const fit = levels.length >= 2 ? fitLogLog(lx, ly) : { lnA: Number.NaN, b: Number.NaN };
    lnA[d] = fit.lnA;
    b[d] = fit.b;
  }
  return { lnA, b, means };
}
