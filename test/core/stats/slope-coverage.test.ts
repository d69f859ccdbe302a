// Coverage of the headline slope interval (the analysis fits per-N means: activities/analyze/metric-scaling.ts).
// Curves come from a known power law y = a N^-b with an N-level effect shared by every seed at that N
// (as when all seeds train on the same images) plus seed noise; the Student-t interval of the slope
// fitted to the per-N means, on distinct N - 2 degrees of freedom, must cover the true b 95% ± 3% of
// the time. A seed bootstrap alone cannot see the shared N-level effect, and covers far less.
// Run: node --import tsx --test test/core/stats/slope-coverage.test.ts
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng, type Rng } from '../../../core/rng.js';
import { percentileInterval, resampleInto } from '../../../core/stats/bootstrap.js';
import { fitLogLog, fitPowerLaw } from '../../../core/stats/powerlaw.js';

const SIZES = [125, 250, 500, 1000, 2000, 4000];
const SEEDS = 3;
const TRUE_A = 1.5;
const TRUE_B = 0.3;

/** Per N, per seed: a N^-b exp(u_N + e_s), u_N shared by the seeds at N. */
function simulate(rng: Rng, nLevelSd: number, seedSd: number): number[][] {
  return SIZES.map((n) => {
    const shared = nLevelSd * rng.normal();
    return Array.from({ length: SEEDS }, () => TRUE_A * n ** -TRUE_B * Math.exp(shared + seedSd * rng.normal()));
  });
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** The analysis's interval: the t-interval of b fitted to the per-N means. */
function meansInterval(ys: number[][]): [number, number] {
  return fitPowerLaw(SIZES, ys.map(mean)).slopeCI95!;
}

/** The seed bootstrap's percentile interval of b (seeds resampled within each N, refitted on the means). */
function bootstrapInterval(rng: Rng, ys: number[][], draws: number): [number, number] {
  const lx = SIZES.map(Math.log);
  const ly = new Float64Array(SIZES.length);
  const picks = new Uint32Array(SEEDS);
  const bs = new Float64Array(draws);
  for (let d = 0; d < draws; d++) {
    ys.forEach((seeds, k) => {
      resampleInto(rng, SEEDS, SEEDS, picks);
      let sum = 0;
      for (const j of picks) sum += seeds[j]!;
      ly[k] = Math.log(sum / SEEDS);
    });
    bs[d] = fitLogLog(lx, ly).b;
  }
  const ci = percentileInterval(bs);
  return [ci.lo!, ci.hi!];
}

function coverage(replications: number, interval: (ys: number[][]) => [number, number], nLevelSd: number, seedSd: number, seed: number): number {
  const rng = createRng(seed);
  let covered = 0;
  for (let r = 0; r < replications; r++) {
    const [lo, hi] = interval(simulate(rng, nLevelSd, seedSd));
    if (lo <= TRUE_B && TRUE_B <= hi) covered++;
  }
  return covered / replications;
}

describe('slope interval coverage', () => {
  it('covers the true slope 95% ± 3% of the time when N-level effects are shared by all seeds', () => {
    const rate = coverage(3000, meansInterval, 0.05, 0.05, 16);
    assert.ok(Math.abs(rate - 0.95) <= 0.03, `coverage ${rate}`);
  });

  it('covers 95% ± 3% with seed noise alone too', () => {
    const rate = coverage(3000, meansInterval, 0, 0.08, 17);
    assert.ok(Math.abs(rate - 0.95) <= 0.03, `coverage ${rate}`);
  });

  it('a seed bootstrap alone misses the shared N-level effect: why it is not the headline slope interval', () => {
    const rng = createRng(18);
    const rate = coverage(300, (ys) => bootstrapInterval(rng, ys, 400), 0.05, 0.02, 19);
    assert.ok(rate < 0.8, `coverage ${rate}`);
  });
});
