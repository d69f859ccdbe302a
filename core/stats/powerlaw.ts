// Power-law fitting and small statistics helpers for scaling curves. Pure functions, no I/O.
//
// Conventions:
// - "log" is the natural log throughout.
// - fitPowerLaw fits y = a * N^(-b) by ordinary least squares on (ln N, ln y); r2, residuals and rmse are in log space.
// - fitPowerLawWithOffset (offset-fit.ts) fits y = c + a * N^(-b) by least squares; its sse/r2/rmse are in linear space.
// - Fitted to per-N means (one point per distinct N), the slope interval has distinct N - 2 degrees of
//   freedom and so covers deviations of whole N from the power law, not only seed noise.
//
// The t distribution and mean intervals are student-t.ts, the monotonicity check monotone.ts
// (re-exported here).
import { inv, lusolve, multiply, transpose } from 'mathjs';
import { studentTQuantile } from './student-t.js';
import { simpleRegression, validatePositive } from './fit-input.js';

export { meanCI95, studentTCdf, studentTQuantile, type MeanCI } from './student-t.js';
export { checkMonotoneDecreasing, isMonotoneDecreasing, type MonotoneCheck, type MonotoneOptions, type MonotoneViolation } from './monotone.js';
export { fitPowerLawWithOffset, OFFSET_EXPONENT_BOUNDS, type OffsetFit } from './offset-fit.js';

export interface PowerLawFit {
  /** Prefactor a in y = a * N^(-b). */
  a: number;
  /** Scaling exponent b in y = a * N^(-b); positive means y falls with N. The log-log slope is -b. */
  b: number;
  /** Coefficient of determination of the log-log regression (1 for exact power-law data). */
  r2: number;
  /** ln(y) - ln(ŷ) per input point, in input order. */
  residuals: number[];
  /** Root mean square of the log-space residuals. */
  rmse: number;
  /** Number of (N, y) points used. */
  points: number;
  /** Number of distinct N values. */
  distinctN: number;
  /** Standard error of b from the regression (needs >= 3 distinct N). */
  slopeSE?: number;
  /** 95% confidence interval of b, b ± t(0.975, points-2) * SE (needs >= 3 distinct N). */
  slopeCI95?: [number, number];
}

/**
 * ln a and b of y = a N^(-b) from logged points (lx = ln N, ly = ln y) by closed-form least squares:
 * the fast path for bootstrap refits. NaN when lx has no spread.
 */
export function fitLogLog(lx: ArrayLike<number>, ly: ArrayLike<number>): { lnA: number; b: number } {
  const { intercept, slope } = simpleRegression(lx, ly);
  return { lnA: intercept, b: -slope };
}

/**
 * Fits y = a * N^(-b) by least squares in log-log space (ln y = ln a - b ln N), solving the normal equations
 * with a centered design matrix. Throws on non-positive or non-finite values or fewer than 2 distinct N.
 */
export function fitPowerLaw(ns: readonly number[], ys: readonly number[]): PowerLawFit {
  const distinctN = validatePositive(ns, ys, 'fitPowerLaw');
  const m = ns.length;
  const lx = ns.map((n) => Math.log(n));
  const ly = ys.map((y) => Math.log(y));
  const xMean = lx.reduce((s, v) => s + v, 0) / m;
  // Design matrix [1, ln N - mean(ln N)]: the centered column keeps X'X well conditioned.
  const X = lx.map((x) => [1, x - xMean]);
  const Xt = transpose(X);
  const XtX = multiply(Xt, X) as number[][];
  const Xty = multiply(Xt, ly) as number[];
  const theta = (lusolve(XtX, Xty) as number[][]).map((row) => row[0] as number);
  const intercept = theta[0] as number; // ln y at the mean ln N
  const slope = theta[1] as number; // d ln y / d ln N = -b
  const lnA = intercept - slope * xMean;
  const residuals = lx.map((x, i) => (ly[i] as number) - (lnA + slope * x));
  const sse = residuals.reduce((s, r) => s + r * r, 0);
  const yMean = ly.reduce((s, v) => s + v, 0) / m;
  const sst = ly.reduce((s, v) => s + (v - yMean) ** 2, 0);
  // All y equal: a flat line fits exactly (b = 0); call that R² = 1 rather than 0/0.
  const r2 = sst > 0 ? Math.max(0, 1 - sse / sst) : 1;
  const fit: PowerLawFit = {
    a: Math.exp(lnA),
    b: -slope,
    r2,
    residuals,
    rmse: Math.sqrt(sse / m),
    points: m,
    distinctN,
  };
  if (distinctN >= 3 && m > 2) {
    const sigma2 = sse / (m - 2);
    const cov = inv(XtX) as number[][];
    const se = Math.sqrt(sigma2 * ((cov[1] as number[])[1] as number));
    const t = studentTQuantile(0.975, m - 2);
    fit.slopeSE = se;
    fit.slopeCI95 = [fit.b - t * se, fit.b + t * se];
  }
  return fit;
}

/** Evaluates a * N^(-b). */
export function predictPowerLaw(fit: { a: number; b: number }, n: number): number {
  return fit.a * Math.pow(n, -fit.b);
}

/** Evaluates c + a * N^(-b). */
export function predictOffsetPowerLaw(fit: { c: number; a: number; b: number }, n: number): number {
  return fit.c + fit.a * Math.pow(n, -fit.b);
}

