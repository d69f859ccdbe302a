// Power-law fitting and small statistics helpers for scaling curves. Pure functions, no I/O.
//
// Conventions:
// - "log" is the natural log throughout.
// - fitPowerLaw fits y = a * N^(-b) by ordinary least squares on (ln N, ln y); r2, residuals and rmse are in log space.
// - fitPowerLawWithOffset fits y = c + a * N^(-b) by profiling over the floor c; its sse/r2/rmse are in linear space.
import { inv, lgamma, lusolve, multiply, transpose } from 'mathjs';

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

export interface MeanCI {
  mean: number;
  /** Lower end of the two-sided 95% t-interval (equal to mean when n = 1). */
  lo: number;
  /** Upper end of the two-sided 95% t-interval (equal to mean when n = 1). */
  hi: number;
  /** t(0.975, n-1) * std / sqrt(n); 0 when n = 1. */
  halfWidth: number;
  n: number;
  /** Sample standard deviation (n - 1 denominator); 0 when n = 1. */
  std: number;
  /** True when n = 1: no interval can be estimated, lo = hi = mean. */
  degenerate: boolean;
}

export interface MonotoneOptions {
  /** Absolute slack allowed for a rise (default 0). */
  absTolerance?: number;
  /** Slack as a fraction of the smallest earlier mean (default 0). */
  relTolerance?: number;
  /** Slack as a multiple of the standard error of the difference of the two per-N means (default 0: off). */
  seMultiplier?: number;
}

export interface MonotoneViolation {
  /** The N whose mean rose. */
  n: number;
  mean: number;
  /** The smaller N holding the smallest earlier mean, and that mean. */
  priorN: number;
  priorMean: number;
  /** mean - priorMean (> tolerance). */
  rise: number;
  tolerance: number;
}

export interface MonotoneCheck {
  monotone: boolean;
  /** Per-N means, sorted by N. */
  means: { n: number; mean: number; count: number }[];
  violations: MonotoneViolation[];
}

// ---------------------------------------------------------------------------------------------
// Student t distribution

/** Regularized incomplete beta I_x(a, b), continued fraction (Lentz), after Numerical Recipes `betai`. */
function regIncBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  const front = Math.exp(lnFront);
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** CDF of Student's t distribution with `df` (> 0, may be fractional) degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`studentTCdf: degrees of freedom must be > 0, got ${df}`);
  if (Number.isNaN(t)) return Number.NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const tail = 0.5 * regIncBeta(df / (df + t * t), df / 2, 0.5);
  return t > 0 ? 1 - tail : tail;
}

/** Quantile (inverse CDF) of Student's t distribution: the t with P(T <= t) = p. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`studentTQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`studentTQuantile: degrees of freedom must be > 0, got ${df}`);
  if (p === 0.5) return 0;
  // Closed forms for df = 1 (Cauchy) and df = 2.
  if (df === 1) return Math.tan(Math.PI * (p - 0.5));
  if (df === 2) return (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) {
    lo = hi;
    hi *= 2;
    if (hi > 1e12) return hi;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-13 * Math.max(1, hi); i++) {
    const mid = 0.5 * (lo + hi);
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

// ---------------------------------------------------------------------------------------------
// Descriptive statistics

/** Mean with a two-sided 95% Student-t confidence interval. n = 1 gives lo = hi = mean and degenerate = true. */
export function meanCI95(values: readonly number[]): MeanCI {
  if (values.length === 0) throw new RangeError('meanCI95: no values');
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`meanCI95: non-finite value ${v}`);
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n === 1) return { mean, lo: mean, hi: mean, halfWidth: 0, n, std: 0, degenerate: true };
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  const std = Math.sqrt(variance);
  const halfWidth = studentTQuantile(0.975, n - 1) * (std / Math.sqrt(n));
  return { mean, lo: mean - halfWidth, hi: mean + halfWidth, halfWidth, n, std, degenerate: false };
}

function groupByN(ns: readonly number[], ys: readonly number[]): { n: number; values: number[] }[] {
  const groups = new Map<number, number[]>();
  ns.forEach((n, i) => {
    const list = groups.get(n) ?? [];
    list.push(ys[i] as number);
    groups.set(n, list);
  });
  return [...groups.entries()].sort((p, q) => p[0] - q[0]).map(([n, values]) => ({ n, values }));
}

/**
 * Checks that the per-N means of y do not rise with N. A mean counts as a rise when it exceeds the smallest
 * mean at any smaller N by more than the tolerance (so slow cumulative drifts are caught too), where the
 * tolerance is max(absTolerance, relTolerance * |priorMean|, seMultiplier * SE of the difference of the two means).
 */
export function checkMonotoneDecreasing(
  ns: readonly number[],
  ys: readonly number[],
  tolerance: number | MonotoneOptions = 0,
): MonotoneCheck {
  assertSameLength(ns, ys, 'checkMonotoneDecreasing');
  const opts: MonotoneOptions = typeof tolerance === 'number' ? { absTolerance: tolerance } : tolerance;
  const abs = opts.absTolerance ?? 0;
  const rel = opts.relTolerance ?? 0;
  const k = opts.seMultiplier ?? 0;
  const groups = groupByN(ns, ys).map((g) => {
    const mean = g.values.reduce((s, v) => s + v, 0) / g.values.length;
    const variance =
      g.values.length > 1 ? g.values.reduce((s, v) => s + (v - mean) ** 2, 0) / (g.values.length - 1) : 0;
    return { n: g.n, mean, count: g.values.length, se2: variance / g.values.length };
  });
  const violations: MonotoneViolation[] = [];
  let best = groups[0];
  for (let i = 1; i < groups.length; i++) {
    const g = groups[i]!;
    if (!best) break;
    const tol = Math.max(abs, rel * Math.abs(best.mean), k * Math.sqrt(best.se2 + g.se2));
    const rise = g.mean - best.mean;
    if (rise > tol) violations.push({ n: g.n, mean: g.mean, priorN: best.n, priorMean: best.mean, rise, tolerance: tol });
    if (g.mean < best.mean) best = g;
  }
  return {
    monotone: violations.length === 0,
    means: groups.map(({ n, mean, count }) => ({ n, mean, count })),
    violations,
  };
}

/** True when the per-N means of y never rise with N by more than `tolerance` (see checkMonotoneDecreasing). */
export function isMonotoneDecreasing(
  ns: readonly number[],
  ys: readonly number[],
  tolerance: number | MonotoneOptions = 0,
): boolean {
  return checkMonotoneDecreasing(ns, ys, tolerance).monotone;
}

// ---------------------------------------------------------------------------------------------
// Power-law fits

function assertSameLength(ns: readonly number[], ys: readonly number[], fn: string): void {
  if (ns.length !== ys.length) throw new RangeError(`${fn}: ns has ${ns.length} values but ys has ${ys.length}`);
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

  const evalAt = (c: number): { c: number; a: number; b: number; sse: number } => {
    const ly = ys.map((y) => Math.log(y - c));
    const { alpha, beta } = simpleOls(lx, ly);
    const a = Math.exp(alpha);
    const b = -beta;
    let sse = 0;
    for (let i = 0; i < m; i++) sse += ((ys[i] as number) - c - a * Math.exp(-b * (lx[i] as number))) ** 2;
    return { c, a, b, sse: Number.isFinite(sse) ? sse : Infinity };
  };

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

  const reasons: string[] = [];
  const lastGrid = grid[grid.length - 1] as number;
  if (best.c <= 1e-3 * minY)
    reasons.push('floor c is at the lower boundary (c ≈ 0): no evidence of an irreducible floor, the plain power law suffices');
  else if (best.c >= Math.min(lastGrid, (1 - 1e-3) * minY))
    reasons.push('floor c runs into the upper boundary (c → min y): the floor is not identified by the data');
  if (!(best.b > 0)) reasons.push(`fitted exponent b = ${best.b.toPrecision(3)} is not positive: the curve does not decay`);
  if (distinctN < 4) reasons.push(`only ${distinctN} distinct N: a 3-parameter fit needs at least 4`);
  if (!Number.isFinite(best.sse)) reasons.push('no finite fit found');

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
