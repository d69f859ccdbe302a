// The analysis stage's numbers: per-N aggregates, fits on the per-N means, the quality gates, the
// held-out check, the offset fit's identification, and the seed-bootstrap intervals.
// Run: node --import tsx --test test/activities/analyze/analyze-sweep.test.ts
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSweep } from '../../../activities/analyze/analyze-sweep.js';
import { studentTQuantile } from '../../../core/stats/student-t.js';
import { CURVES, curve, makeCells, SEEDS, SIZES, SOURCES, synthetic } from './analyze-fixtures.js';

const FEW_DRAWS = { analysis: { bootstrapDraws: 300 } };

describe('analyzeSweep', () => {
  const analysis = analyzeSweep(makeCells(CURVES), SOURCES, FEW_DRAWS);

  it('aggregates per N over seeds', () => {
    const real = curve(analysis, 'real');
    assert.deepEqual(
      real.perN.map((p) => p.n),
      SIZES,
    );
    for (const p of real.perN) {
      assert.equal(p.seeds, 3);
      assert.ok(p.accuracy.lo < p.accuracy.mean && p.accuracy.mean < p.accuracy.hi);
      assert.ok(Math.abs(p.error.mean - (1 - p.accuracy.mean)) < 1e-12);
      assert.ok(Math.abs(p.error.halfWidth - p.accuracy.halfWidth) < 1e-12);
    }
    assert.deepEqual(analysis.sizes, SIZES);
    assert.deepEqual(analysis.seeds, SEEDS);
    assert.equal(analysis.cellCount, 3 * SIZES.length * SEEDS.length);
  });

  it('effective real-data equivalent inverts the real fit at the source\'s mean', () => {
    // A source whose error at N equals real data's error at N/4 is worth N/4 real images.
    const quarter = analyzeSweep(makeCells({ real: CURVES.real!, quarter: (n) => CURVES.real!(n / 4) }, SEEDS, 0), [
      SOURCES[0]!,
      { name: 'quarter', kind: 'synthetic', description: 'q', manifestUri: 'mem://q', images: 30000 },
    ], FEW_DRAWS);
    const comparison = quarter.comparisons.find((c) => c.source === 'quarter')!;
    for (const e of comparison.effectiveRealN) {
      assert.ok(Math.abs(e.byError! / (e.n / 4) - 1) < 1e-6, `N=${e.n}: ${e.byError}`);
      assert.ok(Math.abs(e.byLoss! / (e.n / 4) - 1) < 1e-6, `N=${e.n}: ${e.byLoss}`);
      assert.equal(e.extrapolated, e.n / 4 < SIZES[0]!, `N=${e.n}`);
    }
    // A shallower synthetic curve is worth fewer real images than its own N.
    const cfg7 = analysis.comparisons.find((c) => c.source === 'synth-cfg7')!;
    assert.ok(cfg7.effectiveRealN.every((e) => e.byError !== null && e.byError < e.n), 'synthetic is worth fewer real images');
  });

  it('flags a rising-loss curve as unreliable while its error fit is fine', () => {
    const c = curve(analysis, 'synth-cfg7');
    assert.equal(c.lossMonotone, false);
    assert.equal(c.loss.unreliable, true);
    assert.equal(c.loss.scalingSlope, null);
    assert.match(c.loss.reason ?? '', /not monotone/);
    assert.ok(c.loss.fit, 'the loss fit is kept for inspection');
    assert.equal(c.loss.fit.unreliable, true);
    assert.ok(c.loss.fit.b < 0, 'a rising loss gives a negative exponent');
    assert.ok(c.loss.violations.length > 0);

    assert.equal(c.errorMonotone, true);
    assert.equal(c.error.unreliable, false);
    assert.ok(c.error.scalingSlope !== null && Math.abs(c.error.scalingSlope - 0.1) < 0.02, `error slope ${c.error.scalingSlope}`);
    assert.ok(c.error.fit && c.error.fit.r2 > 0.9);
    assert.ok(c.warnings.some((w) => /over-confident/.test(w)));
  });

  it('reports headline slopes for monotone curves and compares to real', () => {
    const real = curve(analysis, 'real');
    assert.equal(real.loss.unreliable, false);
    assert.ok(real.error.scalingSlope !== null && Math.abs(real.error.scalingSlope - 0.4) < 0.02);
    assert.ok(real.loss.scalingSlope !== null && Math.abs(real.loss.scalingSlope - 0.4) < 0.02);
    assert.equal(analysis.realSource, 'real');
    assert.equal(analysis.comparisons.length, 2);
    const s2 = analysis.comparisons.find((c) => c.source === 'synth-cfg2');
    const s7 = analysis.comparisons.find((c) => c.source === 'synth-cfg7');
    assert.ok(s2 && s7);
    assert.ok(s2.errorSlopeRatio !== null && Math.abs(s2.errorSlopeRatio - 0.3) < 0.06, `ratio ${s2.errorSlopeRatio}`);
    assert.ok(s2.lossSlopeRatio !== null && s2.lossSlopeRatio < 1);
    assert.ok(s7.errorSlopeRatio !== null && s7.errorSlopeRatio < 1);
    assert.equal(s7.lossSlopeRatio, null);
    assert.ok(s7.notes.some((n) => /no reliable loss slope/.test(n)));
    assert.deepEqual(
      s2.accuracyGap.map((g) => g.n),
      SIZES,
    );
    for (const g of s2.accuracyGap) {
      assert.ok(g.gap < 0, 'synthetic is behind real');
      assert.ok(Math.abs(g.gap - (g.accuracy - g.realAccuracy)) < 1e-12);
    }
  });

});

describe('analyzeSweep: output and odd input', () => {
  const analysis = analyzeSweep(makeCells(CURVES), SOURCES, FEW_DRAWS);

  it('is plain JSON', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(analysis)), analysis);
    assert.ok(JSON.stringify(analysis).length < 200_000);
  });

  it('handles no real source, single seeds, unknown sources and duplicates', () => {
    const cells = makeCells({ 'synth-cfg2': CURVES['synth-cfg2']!, mystery: CURVES.real! }, [0]);
    cells.push({ ...cells[0]! });
    const a = analyzeSweep(cells, SOURCES.slice(1, 2), FEW_DRAWS);
    assert.equal(a.realSource, null);
    assert.deepEqual(a.comparisons, []);
    assert.equal(curve(a, 'mystery').kind, 'unknown');
    assert.ok(a.warnings.some((w) => /duplicate/.test(w)));
    assert.ok(a.warnings.some((w) => /no real source/.test(w)));
    const c = curve(a, 'synth-cfg2');
    assert.ok(c.perN.every((p) => p.seeds === 1 && p.accuracy.degenerate));
    assert.ok(c.error.scalingSlope !== null);
  });
});

describe('fits on per-N means', () => {
  const analysis = analyzeSweep(makeCells(CURVES, SEEDS, 0.03), SOURCES, { analysis: { bootstrapDraws: 500 } });

  it('fits one point per distinct N, with a t interval on distinct N - 2 degrees of freedom', () => {
    const m = curve(analysis, 'real').error;
    assert.ok(m.fit && m.fit.slopeSE && m.fit.slopeCI95);
    assert.equal(m.fit.points, SIZES.length);
    const half = studentTQuantile(0.975, SIZES.length - 2) * m.fit.slopeSE;
    assert.ok(Math.abs(m.fit.slopeCI95[1] - m.fit.slopeCI95[0] - 2 * half) < 1e-12);
    assert.deepEqual(m.scalingSlopeCI95, m.fit.slopeCI95);
    assert.deepEqual(curve(analysis, 'real').span, { distinctN: 6, decades: Math.log10(300) });
  });

  it('gives the slope a seed-bootstrap interval around it, the same for the same bootstrap seed', () => {
    const m = curve(analysis, 'real').error;
    const ci = m.slopeBootstrapCI95!;
    assert.ok(ci.lo! < m.scalingSlope! && m.scalingSlope! < ci.hi!, JSON.stringify(ci));
    assert.equal(ci.draws, 500);
    const again = analyzeSweep(makeCells(CURVES, SEEDS, 0.03), SOURCES, { analysis: { bootstrapDraws: 500 } });
    assert.deepEqual(curve(again, 'real').error.slopeBootstrapCI95, ci);
    const other = analyzeSweep(makeCells(CURVES, SEEDS, 0.03), SOURCES, { analysis: { bootstrapDraws: 500, bootstrapSeed: 1 } });
    assert.notDeepEqual(curve(other, 'real').error.slopeBootstrapCI95, ci);
  });

  it('checks each curve by predicting its largest N from the others', () => {
    const exact = analyzeSweep(makeCells({ real: CURVES.real! }, SEEDS, 0), SOURCES.slice(0, 1), { analysis: { bootstrapDraws: 200 } });
    const h = curve(exact, 'real').error.holdout!;
    assert.equal(h.n, 30000);
    assert.ok(Math.abs(h.relativeError) < 1e-9, `${h.relativeError}`);
    // A curve bending to a floor: the power law through the smaller N undershoots the largest.
    const floor = analyzeSweep(makeCells({ real: (n) => ({ err: 0.1 + 2 * n ** -0.5, loss: 0.3 + 5 * n ** -0.5, ece: 0 }) }, SEEDS, 0), SOURCES.slice(0, 1), {
      analysis: { bootstrapDraws: 200 },
    });
    assert.ok(curve(floor, 'real').error.holdout!.relativeError < -0.05);
  });

  it('flags the offset fit unidentified with fewer than 4 N, identified on a clear floor', () => {
    const floorCurve = (n: number) => ({ err: 0.1 + 2 * n ** -0.5, loss: 0.3 + 5 * n ** -0.5, ece: 0 });
    const floor = analyzeSweep(makeCells({ real: floorCurve }, SEEDS, 0.002), SOURCES.slice(0, 1), { analysis: { bootstrapDraws: 200 } });
    const m = curve(floor, 'real').error;
    assert.equal(m.offsetUnidentified, false, JSON.stringify(m.offsetExponentCI95));
    assert.ok(m.offsetExponentCI95!.lo! < 0.5 && 0.5 < m.offsetExponentCI95!.hi!);
    const three = analyzeSweep(makeCells({ real: floorCurve }, SEEDS, 0.002, { sizes: [100, 1000, 10000] }), SOURCES.slice(0, 1), { analysis: { bootstrapDraws: 200 } });
    assert.equal(curve(three, 'real').error.offsetUnidentified, true);
  });
});

describe('quality gates', () => {
  const cells = (sizes: number[]) => makeCells({ real: CURVES.real!, 'synth-cfg2': CURVES['synth-cfg2']! }, SEEDS, 0.01, { sizes });
  const settings = { analysis: { bootstrapDraws: 200 } };

  it('withholds the slope with too few sizes, and every ratio built on it', () => {
    const a = analyzeSweep(cells([100, 300, 1000, 3000]), SOURCES.slice(0, 2), settings);
    const m = curve(a, 'real').error;
    assert.equal(m.scalingSlope, null);
    assert.ok(m.fit, 'the fit is kept for inspection');
    assert.ok(m.withheldBy.includes('few-sizes') && m.withheldBy.includes('narrow-span'), m.withheldBy.join());
    assert.match(m.reason ?? '', /only 4 distinct N \(the gate is 5\)/);
    const c = a.comparisons.find((x) => x.source === 'synth-cfg2')!;
    assert.equal(c.errorSlopeRatio, null);
    assert.equal(c.errorSlopeRatioCI95, null);
    assert.ok(c.effectiveRealN.every((e) => e.byError === null && e.byErrorCI95 === null));
  });

  it('withholds a slope over too narrow a span, and a poor fit', () => {
    const narrow = analyzeSweep(cells([1000, 1500, 2000, 3000, 5000, 8000]), SOURCES.slice(0, 2), settings);
    assert.deepEqual(curve(narrow, 'real').error.withheldBy, ['narrow-span']);
    const zigzag = (n: number) => ({ err: 0.5 * n ** -0.2 * (SIZES.indexOf(n) % 2 ? 1.25 : 0.8), loss: n ** -0.3, ece: 0 });
    const poor = analyzeSweep(makeCells({ real: zigzag }, SEEDS, 0), SOURCES.slice(0, 1), { analysis: { bootstrapDraws: 200, minR2: 0.9 }, monotone: { absTolerance: 1 } });
    const m = curve(poor, 'real').error;
    assert.deepEqual(m.withheldBy, ['poor-fit'], m.reason);
    assert.match(m.reason ?? '', /R² = .* \(the gate is 0.9\)/);
  });

  it('takes its gates from the spec', () => {
    const a = analyzeSweep(cells([100, 300, 1000, 3000]), SOURCES.slice(0, 2), { analysis: { bootstrapDraws: 200, minSizes: 4, minDecades: 1.4 } });
    assert.ok(curve(a, 'real').error.scalingSlope !== null);
    assert.deepEqual(a.settings.analysis, { bootstrapDraws: 200, bootstrapSeed: 0, minSizes: 4, minDecades: 1.4, minR2: 0.9 });
  });
});

describe('bootstrap intervals of comparisons', () => {
  const sources = [...SOURCES.slice(0, 2), { name: 'mix', kind: 'mixed' as const, description: 'real + synth-cfg2', manifestUri: 'mem://real', images: 30000, mix: { real: 'real', synthetic: 'synth-cfg2', syntheticPerReal: 1 } }];
  const mix = (n: number) => ({ err: 0.95 * CURVES.real!(n).err, loss: CURVES.real!(n).loss, ece: 0 });
  const a = analyzeSweep(makeCells({ real: CURVES.real!, 'synth-cfg2': CURVES['synth-cfg2']!, mix }, SEEDS, 0.03), sources, { analysis: { bootstrapDraws: 500 } });

  it('puts an interval on slope ratios, gaps and real-data equivalents that holds the point estimate', () => {
    const c = a.comparisons.find((x) => x.source === 'synth-cfg2')!;
    const inside = (x: number | null, ci: { lo: number | null; hi: number | null } | null) => x !== null && ci !== null && ci.lo! <= x && x <= ci.hi!;
    assert.ok(inside(c.errorSlopeRatio, c.errorSlopeRatioCI95), JSON.stringify(c.errorSlopeRatioCI95));
    assert.ok(inside(c.lossSlopeRatio, c.lossSlopeRatioCI95));
    for (const g of c.accuracyGap) assert.ok(inside(g.gap, g.ci95) && g.ci95.hi! < 0, `N=${g.n}`);
    for (const e of c.effectiveRealN) assert.ok(inside(e.byError, e.byErrorCI95), `N=${e.n}: ${e.byError} ${JSON.stringify(e.byErrorCI95)}`);
  });

  it('gives mixing gains the gap interval', () => {
    const gains = a.mixing.find((m) => m.source === 'mix')!.gains;
    const gaps = a.comparisons.find((c) => c.source === 'mix')!.accuracyGap;
    assert.deepEqual(gains.map((g) => g.ci95), gaps.map((g) => g.ci95));
    assert.ok(gains.every((g) => g.ci95.lo! > 0), 'a 5% lower error is a gain beyond the interval');
  });

  it('names the method and the variance it covers', () => {
    assert.match(a.settings.intervals, /bootstrap of 500 draws \(seed 0\)/);
    assert.match(a.settings.intervals, /distinct N − 2/);
    assert.equal(a.settings.seedDraws, 'init');
    assert.match(a.settings.variance, /initialisation variance only/);
    const data = analyzeSweep(makeCells({ real: CURVES.real! }), SOURCES.slice(0, 1), { seedDraws: 'data', analysis: { bootstrapDraws: 200 } });
    assert.match(data.settings.variance, /variance of drawing the data and of initialisation/);
  });

  it('passes diversity through to the recognizability entries', () => {
    const diversity = { precision: 0.8, recall: 0.4, density: 0.9, coverage: 0.5, frechet: 12, vendi: 3, realVendi: 5, images: 100, realImages: 100 };
    const r = analyzeSweep(makeCells({ real: CURVES.real!, 'synth-cfg2': CURVES['synth-cfg2']! }), SOURCES.slice(0, 2), {
      analysis: { bootstrapDraws: 200 },
      recognizability: [{ source: 'synth-cfg2', overall: 0.7, judgeTestAccuracy: 0.9, classes: ['a'], perClass: [0.7], diversity }],
    });
    assert.deepEqual(r.recognizability[0]!.diversity, diversity);
  });

  it('resamples a source with one seed per N to its own value', () => {
    const one = analyzeSweep(makeCells({ real: CURVES.real!, s: CURVES['synth-cfg2']! }, [0]), [SOURCES[0]!, synthetic('s')], { analysis: { bootstrapDraws: 200 } });
    const g = one.comparisons[0]!.accuracyGap[0]!;
    assert.ok(Math.abs(g.ci95.lo! - g.gap) < 1e-12 && Math.abs(g.ci95.hi! - g.gap) < 1e-12);
  });
});
