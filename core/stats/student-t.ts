// Student's t distribution (CDF and quantile, any df > 0) and the 95% t-interval of a mean over
// seeds. Pure functions, no I/O.
import { lgamma } from 'mathjs';

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
