// Percentile intervals (open ends for failed or bounded draws) and seeded resampling.
// Run: node --import tsx --test test/core/stats/bootstrap.test.ts
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../../../core/rng.js';
import { percentileInterval, quantileSorted, resampleInto } from '../../../core/stats/bootstrap.js';

describe('percentile intervals', () => {
  it('interpolates quantiles linearly (type 7)', () => {
    assert.equal(quantileSorted([1, 2, 3, 4, 5], 0.5), 3);
    assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantileSorted([0, 10], 0.025), 0.25);
    assert.ok(Number.isNaN(quantileSorted([], 0.5)));
  });

  it('takes the 2.5% and 97.5% quantiles of the draws', () => {
    const draws = Float64Array.from({ length: 1001 }, (_, i) => i / 1000);
    const ci = percentileInterval(draws);
    assert.ok(Math.abs(ci.lo! - 0.025) < 1e-12 && Math.abs(ci.hi! - 0.975) < 1e-12, JSON.stringify(ci));
    assert.equal(ci.draws, 1001);
    assert.equal(ci.failed, 0);
  });

  it('leaves both ends open when more than 2.5% of draws failed, and one end for draws at a bound', () => {
    const some = Float64Array.from({ length: 1000 }, (_, i) => (i < 20 ? Number.NaN : i));
    assert.deepEqual([percentileInterval(some).lo !== null, percentileInterval(some).failed], [true, 20]);
    const many = Float64Array.from({ length: 1000 }, (_, i) => (i < 30 ? Number.NaN : i));
    const open = percentileInterval(many);
    assert.deepEqual([open.lo, open.hi, open.failed], [null, null, 30]);
    const bounded = percentileInterval(Float64Array.from({ length: 1000 }, (_, i) => i), 0.95, { below: 0, above: 40 });
    assert.ok(bounded.lo !== null && bounded.hi === null);
  });
});

describe('resampling', () => {
  it('draws indices in range, the same for the same seed', () => {
    const draw = (seed: number) => {
      const out = new Uint32Array(500);
      resampleInto(createRng(seed), 3, 500, out);
      return out;
    };
    const a = draw(1);
    assert.deepEqual(a, draw(1));
    assert.notDeepEqual(a, draw(2));
    assert.ok(a.every((i) => i < 3));
    for (const k of [0, 1, 2]) assert.ok(a.filter((i) => i === k).length > 120, `index ${k} is drawn about a third of the time`);
  });
});
