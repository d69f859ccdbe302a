// The adaptive loop's intervals (activities/adapt/intervals.ts) on known cases: exact power laws
// give tight intervals around the true exponent, ratio, gap and equivalent; what cannot be computed
// (too few N, a missing source, one seed at N, a real curve that does not fall) is unmet with a
// reason and no number; and on a fixed grid with N-level effects the hull covers the true slope at
// its nominal rate where the seed bootstrap alone does not.
// Run: node --import tsx --test test/activities/adapt/intervals.test.ts
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResolvedTarget, TargetInterval } from '../../../../contracts/adaptive.js';
import type { CellMetrics } from '../../../../contracts/types.js';
import { createRng } from '../../../../core/rng.js';
import { targetIntervals, type IntervalOptions } from '../../../../activities/analyze/adapt/intervals.js';
import { fixedGridIntervals, type SimTruth } from '../../../../activities/analyze/adapt/simulate.js';

const OPTS: IntervalOptions = { level: 0.95, bootstrapDraws: 400, bootstrapSeed: 0 };
const SIZES = [125, 250, 500, 1000, 2000, 4000];

/** Cells of error(N) = a N^-b with multiplicative noise of sd `sd` (seeded), on eval set `evalSet`. */
function cells(source: string, a: number, b: number, sizes: number[], seeds: number[], sd = 1e-4, evalSet = 'test'): CellMetrics[] {
  const rng = createRng(`cells|${source}|${a}|${b}`);
  return sizes.flatMap((size) =>
    seeds.map((seed) => {
      const error = a * size ** -b * Math.exp(sd * rng.normal());
      return { source, size, seed, evalSet, loss: 2 * error, accuracy: 1 - error, ece: 0, perClassAccuracy: [], trainSteps: 0, trainSeconds: 1, resultUri: 'mem://' };
    }),
  );
}

const target = (t: Partial<ResolvedTarget> & Pick<ResolvedTarget, 'quantity' | 'source' | 'wanted'>): ResolvedTarget => ({
  id: `${t.quantity}-${t.source}`,
  label: t.quantity,
  metric: 'error',
  evalSet: 'test',
  ...t,
});

const covers = (iv: TargetInterval, value: number) => iv.lo !== null && iv.hi !== null && iv.lo <= value && value <= iv.hi;

describe('targetIntervals on exact power laws', () => {
  const data = [...cells('real', 2, 0.35, SIZES, [0, 1, 2]), ...cells('syn', 1, 0.2, SIZES, [0, 1, 2])];

  it('a slope: a tight interval around b, met', () => {
    const [iv] = targetIntervals(data, [target({ quantity: 'slope', source: 'real', wanted: 0.01 })], OPTS);
    assert.ok(covers(iv!, 0.35), JSON.stringify(iv));
    assert.ok(Math.abs(iv!.estimate! - 0.35) < 1e-3);
    assert.ok(iv!.halfWidth! < 0.002, `half-width ${iv!.halfWidth}`);
    assert.equal(iv!.met, true);
    assert.equal(iv!.halfWidth, (iv!.hi! - iv!.lo!) / 2);
    assert.deepEqual(
      iv!.components!.map((c) => c.method.split(' ')[0]),
      ['t-interval', 'seed-noise', 'seed'],
    );
  });

  it('a slope ratio, an accuracy gap and a real-data equivalent contain their true values', () => {
    // syn at N equals real at N_eq: 1 * N^-0.2 = 2 N_eq^-0.35; at N=125, N_eq = 114, below real's smallest N.
    const n = 125;
    const neq = (2 / n ** -0.2) ** (1 / 0.35);
    const gap = 2 * 1000 ** -0.35 - 1000 ** -0.2;
    const ivs = targetIntervals(
      data,
      [
        target({ quantity: 'slopeRatio', source: 'syn', real: 'real', wanted: 0.05 }),
        target({ quantity: 'accuracyGap', source: 'syn', real: 'real', metric: 'accuracy', n: 1000, wanted: 0.01 }),
        target({ quantity: 'realEquivalent', source: 'syn', real: 'real', n, wanted: 0.05 }),
      ],
      OPTS,
    );
    assert.ok(covers(ivs[0]!, 0.2 / 0.35) && ivs[0]!.met, JSON.stringify(ivs[0]));
    assert.ok(covers(ivs[1]!, gap) && ivs[1]!.met, JSON.stringify(ivs[1]));
    assert.ok(covers(ivs[2]!, neq) && ivs[2]!.met, JSON.stringify(ivs[2]));
    // The equivalent's half-width is in ln N: relative.
    assert.ok(Math.abs(ivs[2]!.halfWidth! - Math.log(ivs[2]!.hi! / ivs[2]!.lo!) / 2) < 1e-12);
    assert.match(ivs[2]!.method, /extrapolated beyond real's N/);
  });

  it('reads only the target eval set', () => {
    const other = cells('real', 2, 0.1, SIZES, [0, 1, 2], 1e-4, 'ood');
    const [iv] = targetIntervals([...data, ...other], [target({ quantity: 'slope', source: 'real', wanted: 0.01 })], OPTS);
    assert.ok(covers(iv!, 0.35));
  });
});

describe('targetIntervals that cannot be met', () => {
  it('too few N: no interval below 3, and none met below 4', () => {
    const two = targetIntervals(cells('real', 2, 0.35, [250, 4000], [0, 1]), [target({ quantity: 'slope', source: 'real', wanted: 1 })], OPTS)[0]!;
    assert.equal(two.met, false);
    assert.equal(two.lo, null);
    assert.equal(two.halfWidth, null);
    assert.match(two.reason!, /2 distinct N: a slope interval needs 3/);
    const three = targetIntervals(cells('real', 2, 0.35, [250, 1000, 4000], [0, 1]), [target({ quantity: 'slope', source: 'real', wanted: 1 })], OPTS)[0]!;
    assert.notEqual(three.halfWidth, null);
    assert.equal(three.met, false, 'a fit on 1 residual df is too noisy to stop on');
    assert.match(three.reason!, /3 distinct N; a slope's interval counts as met from 4/);
  });

  it("the analysis's gates, when given", () => {
    const [iv] = targetIntervals(cells('real', 2, 0.35, SIZES.slice(0, 4), [0, 1]), [target({ quantity: 'slope', source: 'real', wanted: 1 })], { ...OPTS, gates: { minSizes: 5 } });
    assert.equal(iv!.met, false);
    assert.match(iv!.reason!, /withholds slopes over fewer than 5/);
  });

  it('a missing source, one seed at N, a real curve that does not fall', () => {
    const data = [...cells('real', 2, 0.35, SIZES, [0, 1]), ...cells('syn', 1, 0.2, SIZES, [0]), ...cells('flat', 0.5, -0.05, SIZES, [0, 1])];
    const ivs = targetIntervals(
      data,
      [
        target({ quantity: 'slope', source: 'nowhere', wanted: 1 }),
        target({ quantity: 'accuracyGap', source: 'syn', real: 'real', metric: 'accuracy', n: 1000, wanted: 1 }),
        target({ quantity: 'slopeRatio', source: 'syn', real: 'flat', wanted: 10 }),
        target({ quantity: 'realEquivalent', source: 'syn', real: 'flat', n: 1000, wanted: 10 }),
      ],
      OPTS,
    );
    for (const iv of ivs) {
      assert.equal(iv.met, false);
      assert.equal(iv.lo, null);
      assert.equal(iv.hi, null);
    }
    assert.match(ivs[0]!.reason!, /nowhere has no results/);
    assert.match(ivs[1]!.reason!, /syn has 1 seed at N=1000/);
    assert.match(ivs[2]!.reason!, /flat's error does not fall with N/);
    assert.match(ivs[3]!.reason!, /flat's error does not fall with N/);
  });
});

describe('coverage on a fixed grid with N-level effects', () => {
  // 6 N x 2 seeds per source; N-level offsets (sd 0.05) as large as the seed noise (sd 0.05).
  const truth: SimTruth = {
    sources: {
      real: { kind: 'real', error: { a: 2, b: 0.35 }, loss: { a: 5, b: 0.3 }, seedSd: 0.05, tau: 0.05 },
      syn: { kind: 'synthetic', error: { a: 1, b: 0.2 }, loss: { a: 3, b: 0.15 }, seedSd: 0.05, tau: 0.05 },
    },
  };
  const adaptive = { level: 0.95, targets: [{ quantity: 'slope' as const, source: 'real', metric: 'error' as const, halfWidth: 0.05 }] };

  it('the hull covers the true slope at about 95%; the seed bootstrap alone under-covers', () => {
    const worlds = 200;
    let hull = 0;
    let bootstrap = 0;
    for (let w = 0; w < worlds; w++) {
      const [iv] = fixedGridIntervals(truth, adaptive, { sizes: SIZES, seeds: [0, 1] }, `grid-${w}`, { bootstrapDraws: 300 }).intervals;
      if (covers(iv!, 0.35)) hull++;
      const boot = iv!.components!.find((c) => c.method.startsWith('seed bootstrap'))!;
      if (boot.lo! <= 0.35 && 0.35 <= boot.hi!) bootstrap++;
    }
    console.log(`fixed grid 6 N x 2 seeds, N-level sd 0.05: hull covers ${hull / worlds}, seed bootstrap alone ${bootstrap / worlds}`);
    assert.ok(hull / worlds >= 0.92, `hull coverage ${hull / worlds}`);
    assert.ok(bootstrap / worlds < 0.8, `bootstrap coverage ${bootstrap / worlds}`);
  });
});
