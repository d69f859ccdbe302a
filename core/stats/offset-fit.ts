// The offset power law y = c + a * N^(-b) by true least squares in linear space. For a fixed b the
// model is linear in (c, a), so both have a closed form (c clamped to [0, min y], which is exact for
// this convex problem); b is found by a fine log-spaced grid over its search bounds and a
// golden-section refinement (variable projection). Pure functions, no I/O.
import { simpleRegression, validatePositive } from './fit-input.js';

/** The exponent's search interval: a best b on its edge means the data do not pin b down. */
export const OFFSET_EXPONENT_BOUNDS: readonly [number, number] = [1e-3, 5];

export interface OffsetFit {
  /** Irreducible floor c in y = c + a * N^(-b); constrained to [0, min y]. */
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
  /** Upper end of the interval for c (min y). */
  cUpper: number;
  /** The best b lies on (the grid step next to) an end of OFFSET_EXPONENT_BOUNDS. */
  bAtBound: 'lower' | 'upper' | null;
  /** False when c sits at a boundary of [0, min y], b at a search bound, a <= 0, or there are fewer than 4 distinct N. */
  converged: boolean;
  reason?: string;
}

/** One candidate exponent with its least-squares (c, a) and linear-space SSE. */
interface Candidate {
  c: number;
  a: number;
  b: number;
  sse: number;
}

const GRID_POINTS = 80;
/** ln b on the search grid: evenly spaced over the bounds. */
const LOG_GRID = Array.from({ length: GRID_POINTS }, (_, k) => {
  const [lo, hi] = OFFSET_EXPONENT_BOUNDS.map(Math.log) as [number, number];
  return lo + ((hi - lo) * k) / (GRID_POINTS - 1);
});

/** Least squares (c, a) for a fixed b, with c in [0, cMax]; `x` is scratch space for N^(-b). */
function solveForExponent(lnN: readonly number[], ys: readonly number[], b: number, cMax: number, x: Float64Array): Candidate {
  const m = ys.length;
  for (let i = 0; i < m; i++) x[i] = Math.exp(-b * lnN[i]!);
  const line = simpleRegression(x, ys);
  let a = line.slope;
  let c = line.intercept;
  if (!(c >= 0 && c <= cMax)) {
    c = c > cMax ? cMax : 0;
    let xy = 0;
    let xx = 0;
    for (let i = 0; i < m; i++) {
      xy += x[i]! * (ys[i]! - c);
      xx += x[i]! * x[i]!;
    }
    a = xy / xx;
  }
  let sse = 0;
  for (let i = 0; i < m; i++) sse += (ys[i]! - c - a * x[i]!) ** 2;
  return { c, a, b, sse: Number.isFinite(sse) ? sse : Infinity };
}

/** The b with the smallest SSE: a log-spaced grid, then golden-section search between the best point's neighbours. */
function minimizeOverExponent(evalAt: (b: number) => Candidate): { best: Candidate; bestIdx: number; last: number } {
  let bestIdx = 0;
  let best = evalAt(OFFSET_EXPONENT_BOUNDS[0]);
  for (let k = 1; k < GRID_POINTS; k++) {
    const e = evalAt(Math.exp(LOG_GRID[k]!));
    if (e.sse < best.sse) [best, bestIdx] = [e, k];
  }
  const logs = LOG_GRID;
  let lo = logs[Math.max(0, bestIdx - 1)]!;
  let hi = logs[Math.min(GRID_POINTS - 1, bestIdx + 1)]!;
  const invPhi = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - invPhi * (hi - lo);
  let x2 = lo + invPhi * (hi - lo);
  let f1 = evalAt(Math.exp(x1));
  let f2 = evalAt(Math.exp(x2));
  for (let i = 0; i < 80 && hi - lo > 1e-8; i++) {
    if (f1.sse <= f2.sse) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - invPhi * (hi - lo);
      f1 = evalAt(Math.exp(x1));
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + invPhi * (hi - lo);
      f2 = evalAt(Math.exp(x2));
    }
  }
  for (const cand of [f1, f2]) if (cand.sse < best.sse) best = cand;
  return { best, bestIdx, last: GRID_POINTS - 1 };
}

/**
 * Fits y = c + a * N^(-b) by least squares in linear space (see the file comment). converged = false
 * (with a reason) when c sits at 0 or at min y, when b sits at a search bound, when a <= 0 (the curve
 * does not decay), or with fewer than 4 distinct N. Throws only on non-positive/non-finite input or
 * fewer than 2 distinct N.
 */
export function fitPowerLawWithOffset(ns: readonly number[], ys: readonly number[]): OffsetFit {
  const distinctN = validatePositive(ns, ys, 'fitPowerLawWithOffset');
  const m = ns.length;
  const lnN = ns.map((n) => Math.log(n));
  const minY = Math.min(...ys);
  const yMean = ys.reduce((s, v) => s + v, 0) / m;
  const sst = ys.reduce((s, v) => s + (v - yMean) ** 2, 0);
  const scratch = new Float64Array(m);
  const { best, bestIdx, last } = minimizeOverExponent((b) => solveForExponent(lnN, ys, b, minY, scratch));
  const bAtBound = bestIdx === 0 ? 'lower' : bestIdx === last ? 'upper' : null;
  const reasons = offsetFitProblems(best, minY, bAtBound, distinctN);
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
    bAtBound,
    converged: reasons.length === 0,
  };
  if (reasons.length > 0) fit.reason = reasons.join('; ');
  return fit;
}

/** Why an offset fit does not count as converged (none: it does). */
function offsetFitProblems(best: Candidate, minY: number, bAtBound: OffsetFit['bAtBound'], distinctN: number): string[] {
  const reasons: string[] = [];
  if (best.c <= 1e-3 * minY)
    reasons.push('floor c is at the lower boundary (c ≈ 0): no evidence of an irreducible floor, the plain power law suffices');
  else if (best.c >= (1 - 1e-3) * minY) reasons.push('floor c runs into the upper boundary (c → min y): the floor is not identified by the data');
  if (bAtBound) reasons.push(`exponent b = ${best.b.toPrecision(3)} sits at the ${bAtBound} end of its search interval [${OFFSET_EXPONENT_BOUNDS.join(', ')}]`);
  if (!(best.a > 0)) reasons.push(`fitted prefactor a = ${best.a.toPrecision(3)} is not positive: the curve does not decay`);
  if (distinctN < 4) reasons.push(`only ${distinctN} distinct N: a 3-parameter fit needs at least 4`);
  if (!Number.isFinite(best.sse)) reasons.push('no finite fit found');
  return reasons;
}
