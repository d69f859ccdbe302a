import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkMonotoneDecreasing,
  fitPowerLaw,
  fitPowerLawWithOffset,
  isMonotoneDecreasing,
  meanCI95,
  predictPowerLaw,
  studentTCdf,
  studentTQuantile,
} from '../../../core/stats/powerlaw.js';

const NS = [100, 300, 1000, 3000, 10000, 30000];

/** Deterministic noise in [-1, 1). */
function noiseSource(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

function close(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

describe('fitPowerLaw', () => {
  it('recovers a = 3, b = 0.3 exactly, with R² = 1 and zero residuals', () => {
    const fit = fitPowerLaw(NS, NS.map((n) => 3 * n ** -0.3));
    close(fit.a, 3, 1e-9, 'a');
    close(fit.b, 0.3, 1e-12, 'b');
    close(fit.r2, 1, 1e-12, 'r2');
    assert.equal(fit.points, 6);
    assert.equal(fit.distinctN, 6);
    assert.equal(fit.residuals.length, 6);
    for (const r of fit.residuals) close(r, 0, 1e-12, 'residual');
    close(fit.rmse, 0, 1e-12, 'rmse');
    assert.ok(fit.slopeCI95);
    close(fit.slopeCI95[0], 0.3, 1e-9, 'ci lo');
    close(fit.slopeCI95[1], 0.3, 1e-9, 'ci hi');
    close(predictPowerLaw(fit, 500), 3 * 500 ** -0.3, 1e-9, 'prediction');
  });

  it('recovers a and b approximately with small multiplicative noise over seeds', () => {
    const rnd = noiseSource(7);
    const ns: number[] = [];
    const ys: number[] = [];
    for (const n of NS) {
      for (let seed = 0; seed < 3; seed++) {
        ns.push(n);
        ys.push(3 * n ** -0.3 * (1 + 0.03 * rnd()));
      }
    }
    const fit = fitPowerLaw(ns, ys);
    close(fit.b, 0.3, 0.01, 'b');
    close(fit.a, 3, 0.3, 'a');
    assert.ok(fit.r2 > 0.98 && fit.r2 < 1, `r2 ${fit.r2}`);
    assert.equal(fit.points, 18);
    assert.ok(fit.slopeCI95 && fit.slopeSE);
    assert.ok(fit.slopeCI95[0] < 0.3 && 0.3 < fit.slopeCI95[1], `CI ${fit.slopeCI95} should cover 0.3`);
    assert.ok(fit.slopeCI95[1] - fit.slopeCI95[0] < 0.03, 'CI should be tight');
  });

  it('omits the slope CI with only 2 distinct N', () => {
    const fit = fitPowerLaw([10, 10, 100, 100], [1, 1.1, 0.5, 0.55]);
    assert.equal(fit.slopeCI95, undefined);
    assert.ok(fit.b > 0);
  });

  it('throws clear errors on bad input', () => {
    assert.throws(() => fitPowerLaw([10, 100], [1, 0]), /y must be finite and > 0/);
    assert.throws(() => fitPowerLaw([10, 100], [1, -0.5]), /y must be finite and > 0/);
    assert.throws(() => fitPowerLaw([0, 100], [1, 0.5]), /N must be finite and > 0/);
    assert.throws(() => fitPowerLaw([100, 100, 100], [1, 0.9, 1.1]), /at least 2 distinct N/);
    assert.throws(() => fitPowerLaw([10, 100], [1]), /ns has 2 values but ys has 1/);
    assert.throws(() => fitPowerLaw([10, 100], [1, Number.NaN]), /finite/);
  });
});

describe('fitPowerLawWithOffset', () => {
  it('recovers c, a, b on exact c + a N^-b data', () => {
    const fit = fitPowerLawWithOffset(NS, NS.map((n) => 0.1 + 3 * n ** -0.3));
    assert.equal(fit.converged, true, fit.reason);
    close(fit.c, 0.1, 1e-6, 'c');
    close(fit.b, 0.3, 1e-5, 'b');
    close(fit.a, 3, 1e-4, 'a');
    close(fit.r2, 1, 1e-9, 'r2');
  });

  it('recovers c approximately with small noise', () => {
    const rnd = noiseSource(11);
    const ns: number[] = [];
    const ys: number[] = [];
    const sizes = [50, 100, 300, 1000, 3000, 10000, 30000, 60000];
    for (const n of sizes) {
      for (let seed = 0; seed < 3; seed++) {
        ns.push(n);
        ys.push((0.2 + 2 * n ** -0.5) * (1 + 0.003 * rnd()));
      }
    }
    const fit = fitPowerLawWithOffset(ns, ys);
    assert.equal(fit.converged, true, fit.reason);
    close(fit.c, 0.2, 0.02, 'c');
    close(fit.b, 0.5, 0.1, 'b');
  });

  it('reports converged = false on pure power-law data (c at the lower boundary)', () => {
    const fit = fitPowerLawWithOffset(NS, NS.map((n) => 3 * n ** -0.3));
    assert.equal(fit.converged, false);
    assert.match(fit.reason ?? '', /lower boundary/);
    close(fit.c, 0, 1e-6, 'c');
    close(fit.b, 0.3, 1e-6, 'b');
  });

  it('reports converged = false with fewer than 4 distinct N, and for rising curves, without throwing', () => {
    const few = fitPowerLawWithOffset([100, 1000, 10000], [0.5, 0.3, 0.2]);
    assert.equal(few.converged, false);
    assert.match(few.reason ?? '', /3 distinct N/);
    const rising = fitPowerLawWithOffset(NS, NS.map((n) => 0.8 + 0.05 * Math.log(n)));
    assert.equal(rising.converged, false);
    assert.ok(rising.reason);
    assert.ok(Number.isFinite(rising.c) && Number.isFinite(rising.b));
  });

  it('is the least-squares fit in linear space: no (c, a, b) nearby has a smaller sum of squares', () => {
    const rnd = noiseSource(5);
    const ys = NS.map((n) => (0.15 + 2 * n ** -0.4) * (1 + 0.05 * rnd()));
    const fit = fitPowerLawWithOffset(NS, ys);
    const sse = (c: number, a: number, b: number) => NS.reduce((s, n, i) => s + (ys[i]! - c - a * n ** -b) ** 2, 0);
    close(sse(fit.c, fit.a, fit.b), fit.sse, 1e-15, 'reported sse');
    for (const [dc, da, db] of [[1e-3, 0, 0], [-1e-3, 0, 0], [0, 1e-2, 0], [0, -1e-2, 0], [0, 0, 1e-3], [0, 0, -1e-3], [1e-3, 1e-2, 1e-3]] as const) {
      assert.ok(sse(fit.c + dc, fit.a + da, fit.b + db) >= fit.sse, `a step of (${dc}, ${da}, ${db}) lowers the sum of squares`);
    }
  });

  it('flags an exponent at its search bound', () => {
    // A step down to the floor after the first N: any b large enough fits, so the best b runs to the upper bound.
    const fit = fitPowerLawWithOffset(NS, NS.map((n) => (n === NS[0] ? 1 : 0.2)));
    assert.equal(fit.bAtBound, 'upper');
    assert.equal(fit.converged, false);
    assert.match(fit.reason ?? '', /search interval/);
  });

  it('throws only on non-positive values or < 2 distinct N', () => {
    assert.throws(() => fitPowerLawWithOffset([10, 100], [1, 0]), /> 0/);
    assert.throws(() => fitPowerLawWithOffset([10, 10], [1, 2]), /2 distinct N/);
  });
});

describe('student t', () => {
  it('matches table quantiles', () => {
    const table: [number, number, number][] = [
      [0.975, 1, 12.7062],
      [0.975, 2, 4.3027],
      [0.975, 3, 3.1824],
      [0.975, 4, 2.7764],
      [0.975, 10, 2.2281],
      [0.975, 30, 2.0423],
      [0.995, 5, 4.0321],
      [0.95, 8, 1.8595],
    ];
    for (const [p, df, t] of table) close(studentTQuantile(p, df), t, 5e-4, `t(${p}, ${df})`);
    close(studentTQuantile(0.025, 4), -2.7764, 5e-4, 'lower tail');
    close(studentTQuantile(0.975, 1e6), 1.96, 1e-3, 'normal limit');
    close(studentTCdf(0, 3), 0.5, 1e-15, 'cdf(0)');
    close(studentTCdf(2.7764451, 4), 0.975, 1e-7, 'cdf round trip');
    assert.throws(() => studentTQuantile(1, 3), /p must be in/);
    assert.throws(() => studentTQuantile(0.5, 0), /degrees of freedom/);
  });
});

describe('meanCI95', () => {
  it('matches hand-computed t-intervals', () => {
    // mean 3, sample sd sqrt(2.5), se = sqrt(0.5), t(0.975, 4) = 2.7764451 -> half-width 1.9632432
    const r = meanCI95([1, 2, 3, 4, 5]);
    assert.equal(r.n, 5);
    assert.equal(r.degenerate, false);
    close(r.mean, 3, 1e-12);
    close(r.std, Math.sqrt(2.5), 1e-12);
    close(r.halfWidth, 1.9632432, 1e-6);
    close(r.lo, 1.0367568, 1e-6);
    close(r.hi, 4.9632432, 1e-6);
    // mean 3, sd sqrt(2), se 1, t(0.975, 1) = 12.7062047
    const two = meanCI95([2, 4]);
    close(two.lo, 3 - 12.7062047, 1e-6);
    close(two.hi, 3 + 12.7062047, 1e-6);
  });

  it('flags n = 1 as degenerate with lo = hi = mean', () => {
    const r = meanCI95([0.42]);
    assert.deepEqual(r, { mean: 0.42, lo: 0.42, hi: 0.42, halfWidth: 0, n: 1, std: 0, degenerate: true });
    assert.throws(() => meanCI95([]), /no values/);
  });
});

describe('isMonotoneDecreasing', () => {
  it('works on per-N means', () => {
    assert.equal(isMonotoneDecreasing([1, 2, 3], [3, 2, 1]), true);
    assert.equal(isMonotoneDecreasing([1, 2, 3], [3, 2, 2.5]), false);
    assert.equal(isMonotoneDecreasing([1, 2, 3], [3, 2, 2.5], 0.6), true);
    // Unsorted input with seeds: means are 3, 2, 1 at N = 1, 2, 3.
    assert.equal(isMonotoneDecreasing([3, 1, 2, 1, 3, 2], [0.5, 2.5, 2.2, 3.5, 1.5, 1.8]), true);
    // One seed at N=2 is high, but the mean still falls.
    assert.equal(isMonotoneDecreasing([1, 1, 2, 2], [3, 3, 1, 4.5]), true);
  });

  it('catches slow cumulative drifts and reports violations', () => {
    // Each step rises 0.04 (< tolerance 0.05), but the total rise 0.08 exceeds it.
    const check = checkMonotoneDecreasing([1, 2, 3], [1, 1.04, 1.08], 0.05);
    assert.equal(check.monotone, false);
    assert.equal(check.violations.length, 1);
    assert.equal(check.violations[0]?.n, 3);
    assert.equal(check.violations[0]?.priorN, 1);
    close(check.violations[0]?.rise ?? 0, 0.08, 1e-12);
  });

  it('supports relative and noise-aware tolerances', () => {
    assert.equal(isMonotoneDecreasing([1, 2], [1, 1.005], { relTolerance: 0.01 }), true);
    assert.equal(isMonotoneDecreasing([1, 2], [1, 1.02], { relTolerance: 0.01 }), false);
    // Rise of 0.02 in means, but seeds scatter by ±0.1: within 2 SE of the difference.
    const ns = [1, 1, 1, 2, 2, 2];
    const ys = [0.9, 1.0, 1.1, 0.92, 1.02, 1.12];
    assert.equal(isMonotoneDecreasing(ns, ys, { seMultiplier: 2 }), true);
    assert.equal(isMonotoneDecreasing(ns, ys), false);
  });
});
