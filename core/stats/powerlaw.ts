// Power-law fitting and small statistics helpers for scaling curves. Pure functions, no I/O.
//
// Conventions:
// - "log" is the natural log throughout.
// - fitPowerLaw fits y = a * N^(-b) by ordinary least squares on (ln N, ln y); r2, residuals and rmse are in log space.
// - fitPowerLawWithOffset fits y = c + a * N^(-b) by profiling over the floor c; its sse/r2/rmse are in linear space.
//
// The t distribution and mean intervals are student-t.ts, the monotonicity check monotone.ts
// (re-exported here).
import { inv, lusolve, multiply, transpose } from 'mathjs';
import { studentTQuantile } from './student-t.js';
import { assertSameLength } from './monotone.js';

export { meanCI95, studentTCdf, studentTQuantile, type MeanCI } from './student-t.js';
export { checkMonotoneDecreasing, isMonotoneDecreasing, type MonotoneCheck, type MonotoneOptions, type MonotoneViolation } from './monotone.js';

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

export interface OffsetFit {
  /** Irreducible floor c in y = c + a * N^(-b); searched in [0, min y). */
  c: number;
  a: number;
  b: number;
  /** Linear-space coefficient of determination: 1 - SSE / SST of y. */
  r2: number;
  /** Linear-space sum of squared residuals at the optimum. */
  sse: number;
  /** Linear-space root mean square residual. */
  rmse: number;
  points: number;
  distinctN: number;
  /** Upper end of the search interval for c (min y, exclusive). */
  cUpper: number;
  /** False when the optimum is at a boundary of [0, min y), b <= 0, or there are fewer than 4 distinct N. */
  converged: boolean;
  reason?: string;
}

function validatePositive(ns: readonly number[], ys: readonly number[], fn: string): number {
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

/** Closed-form simple linear regression y = alpha + beta x; returns coefficients and SSE. */
function simpleOls(x: readonly number[], y: readonly number[]): { alpha: number; beta: number; sse: number } {
  const n = x.length;
  const mx = x.reduce((s, v) => s + v, 0) / n;
  const my = y.reduce((s, v) => s + v, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx;
    sxx += dx * dx;
    sxy += dx * ((y[i] as number) - my);
  }
  const beta = sxy / sxx;
  const alpha = my - beta * mx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += ((y[i] as number) - alpha - beta * (x[i] as number)) ** 2;
  return { alpha, beta, sse };
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

/**
 * Fits y = c + a * N^(-b) with the floor c in [0, min y). For each candidate c, (a, b) come from the log-log
 * regression of (y - c) on N; the c with the smallest linear-space SSE is chosen by a dense grid followed by
 * golden-section refinement. converged = false (with a reason) when the optimum sits at c ≈ 0 or c ≈ min y, when
 * b <= 0, or with fewer than 4 distinct N (three parameters cannot be identified from three points).
 * Throws only on non-positive/non-finite input or fewer than 2 distinct N.
 */
export function fitPowerLawWithOffset(ns: readonly number[], ys: readonly number[]): OffsetFit {
  const distinctN = validatePositive(ns, ys, 'fitPowerLawWithOffset');
  const m = ns.length;
  const lx = ns.map((n) => Math.log(n));
  const minY = Math.min(...ys);
  const yMean = ys.reduce((s, v) => s + v, 0) / m;
  const sst = ys.reduce((s, v) => s + (v - yMean) ** 2, 0);

  const evalAt = (c: number): FloorCandidate => {
    const ly = ys.map((y) => Math.log(y - c));
    const { alpha, beta } = simpleOls(lx, ly);
    const a = Math.exp(alpha);
    const b = -beta;
    let sse = 0;
    for (let i = 0; i < m; i++) sse += ((ys[i] as number) - c - a * Math.exp(-b * (lx[i] as number))) ** 2;
    return { c, a, b, sse: Number.isFinite(sse) ? sse : Infinity };
  };
  const { best, lastGrid } = minimizeOverFloor(evalAt, minY);
  const reasons = offsetFitProblems(best, minY, lastGrid, distinctN);

  const sse = best.sse;
  const fit: OffsetFit = {
    c: best.c,
    a: best.a,
    b: best.b,
    r2: sst > 0 && Number.isFinite(sse) ? 1 - sse / sst : sse === 0 ? 1 : 0,
    sse,
    rmse: Math.sqrt(sse / m),
    points: m,
    distinctN,
    cUpper: minY,
    converged: reasons.length === 0,
  };
  if (reasons.length > 0) fit.reason = reasons.join('; ');
  return fit;
}

/** One candidate floor c with its profiled (a, b) and linear-space SSE. */
interface FloorCandidate {
  c: number;
  a: number;
  b: number;
  sse: number;
}

/** The floor c in [0, minY) with the smallest SSE, and the largest c on the search grid. */
function minimizeOverFloor(evalAt: (c: number) => FloorCandidate, minY: number): { best: FloorCandidate; lastGrid: number } {
  // Grid over u = c / min y: uniform on [0, 1) plus points approaching 1 geometrically (down to 1 - 1e-6).
  const us = new Set<number>();
  const uniform = 400;
  for (let k = 0; k < uniform; k++) us.add(k / uniform);
  for (let k = 4; k <= 24; k++) us.add(1 - Math.pow(10, -k / 4));
  const grid = [...us].sort((p, q) => p - q).map((u) => u * minY);
  const evals = grid.map(evalAt);
  let bestIdx = 0;
  evals.forEach((e, i) => {
    if (e.sse < (evals[bestIdx] as { sse: number }).sse) bestIdx = i;
  });

  // Golden-section refinement between the grid neighbours of the best grid point.
  let best = evals[bestIdx]!;
  let lo = grid[Math.max(0, bestIdx - 1)] as number;
  let hi = grid[Math.min(grid.length - 1, bestIdx + 1)] as number;
  const invPhi = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - invPhi * (hi - lo);
  let x2 = lo + invPhi * (hi - lo);
  let f1 = evalAt(x1);
  let f2 = evalAt(x2);
  for (let i = 0; i < 100 && hi - lo > 1e-12 * minY; i++) {
    if (f1.sse <= f2.sse) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - invPhi * (hi - lo);
      f1 = evalAt(x1);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + invPhi * (hi - lo);
      f2 = evalAt(x2);
    }
  }
  for (const cand of [f1, f2]) if (cand.sse < best.sse) best = cand;
  return { best, lastGrid: grid[grid.length - 1] as number };
}

/** Why an offset fit does not count as converged (none: it does). */
function offsetFitProblems(best: FloorCandidate, minY: number, lastGrid: number, distinctN: number): string[] {
  const reasons: string[] = [];
  if (best.c <= 1e-3 * minY)
    reasons.push('floor c is at the lower boundary (c ≈ 0): no evidence of an irreducible floor, the plain power law suffices');
  else if (best.c >= Math.min(lastGrid, (1 - 1e-3) * minY))
    reasons.push('floor c runs into the upper boundary (c → min y): the floor is not identified by the data');
  if (!(best.b > 0)) reasons.push(`fitted exponent b = ${best.b.toPrecision(3)} is not positive: the curve does not decay`);
  if (distinctN < 4) reasons.push(`only ${distinctN} distinct N: a 3-parameter fit needs at least 4`);
  if (!Number.isFinite(best.sse)) reasons.push('no finite fit found');
  return reasons;
}
