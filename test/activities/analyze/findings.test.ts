// The paper's findings as a sweep tests them: verdicts from bootstrap intervals, and each claim on
// curves built to support it, contradict it, leave it open, or lack what it needs.
// Run: node --import tsx --test test/activities/analyze/findings.test.ts
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSweep } from '../../../activities/analyze/analyze-sweep.js';
import { combineVerdicts, verdictOf } from '../../../activities/analyze/verdicts.js';
import { cfgGroupKey } from '../../../activities/analyze/findings-cfg.js';
import type { FindingClaim, SweepAnalysis } from '../../../contracts/analysis.js';
import type { CellMetrics, SourceSummary } from '../../../contracts/types.js';
import { CURVES, makeCells, SEEDS, SOURCES, synthetic, type Curve } from './analyze-fixtures.js';

const REAL = SOURCES[0]!;
const OPTIONS = { analysis: { bootstrapDraws: 400 } };

function findingOf(a: SweepAnalysis, claim: FindingClaim) {
  const f = a.findings.find((x) => x.claim === claim);
  assert.ok(f, claim);
  return f;
}

/** A curve whose error is `factor` times real data's at every N. */
const scaled = (factor: number): Curve => (n) => ({ ...CURVES.real!(n), err: factor * CURVES.real!(n).err });

describe('verdicts', () => {
  const ci = (lo: number | null, hi: number | null) => ({ lo, hi, draws: 100, failed: 0 });
  it('reads an interval against the null value on the claim\'s side', () => {
    assert.equal(verdictOf(ci(0.2, 0.8), 1, 'below'), 'supported');
    assert.equal(verdictOf(ci(1.2, 1.8), 1, 'below'), 'contradicted');
    assert.equal(verdictOf(ci(0.8, 1.2), 1, 'below'), 'inconclusive');
    assert.equal(verdictOf(ci(null, 0.8), 1, 'below'), 'supported', 'an open lower end does not stop an upper end below 1');
    assert.equal(verdictOf(ci(0.5, null), 1, 'below'), 'inconclusive');
    assert.equal(verdictOf(null, 1, 'below'), 'not-testable');
    assert.equal(verdictOf(ci(0.01, 0.02), 0, 'above'), 'supported');
  });

  it('combines tests: agreement decides, disagreement is inconclusive', () => {
    assert.equal(combineVerdicts(['supported', 'inconclusive', 'not-testable']), 'supported');
    assert.equal(combineVerdicts(['contradicted', 'inconclusive']), 'contradicted');
    assert.equal(combineVerdicts(['supported', 'contradicted']), 'inconclusive');
    assert.equal(combineVerdicts(['not-testable']), 'not-testable');
    assert.equal(combineVerdicts([]), 'not-testable');
  });
});

describe('synthetic slopes below real', () => {
  it('is supported by a shallower synthetic curve and contradicted by a steeper one', () => {
    const steep: Curve = (n) => ({ err: 5 * n ** -0.6, loss: 9 * n ** -0.6, ece: 0 });
    const shallow = analyzeSweep(makeCells({ real: CURVES.real!, s: CURVES['synth-cfg2']! }), [REAL, synthetic('s')], OPTIONS);
    const f = findingOf(shallow, 'slopes-below-real');
    assert.equal(f.verdict, 'supported', f.reason);
    assert.equal(f.evidence[0]!.measure, 'error slope ratio');
    assert.ok(f.evidence[0]!.ci95!.hi! < 1);
    assert.equal(f.section, 'comparison');
    const steeper = analyzeSweep(makeCells({ real: CURVES.real!, s: steep }), [REAL, synthetic('s')], OPTIONS);
    assert.equal(findingOf(steeper, 'slopes-below-real').verdict, 'contradicted');
    const both = analyzeSweep(makeCells({ real: CURVES.real!, s: CURVES['synth-cfg2']!, t: steep }), [REAL, synthetic('s'), synthetic('t')], OPTIONS);
    assert.equal(findingOf(both, 'slopes-below-real').verdict, 'inconclusive');
  });

  it('is not testable when the gates withhold the slopes, and says why', () => {
    const few = analyzeSweep(makeCells({ real: CURVES.real!, s: CURVES['synth-cfg2']! }, SEEDS, 0.01, { sizes: [100, 300, 1000] }), [REAL, synthetic('s')], OPTIONS);
    const f = findingOf(few, 'slopes-below-real');
    assert.equal(f.verdict, 'not-testable');
    assert.match(f.evidence[0]!.note ?? '', /no reliable error slope/);
  });
});

describe('CFG optimum', () => {
  const sources = [REAL, synthetic('cfg1', { cfgScale: 1 }), synthetic('cfg2', { cfgScale: 2 }), synthetic('cfg7', { cfgScale: 7.5 })];
  const run = (factors: [number, number, number]) =>
    analyzeSweep(makeCells({ real: CURVES.real!, cfg1: scaled(factors[0]), cfg2: scaled(factors[1]), cfg7: scaled(factors[2]) }), sources, OPTIONS);

  it('groups sources that differ only in CFG', () => {
    assert.equal(cfgGroupKey(sources[1]!), cfgGroupKey(sources[3]!));
    assert.notEqual(cfgGroupKey(sources[1]!), cfgGroupKey({ ...sources[3]!, generatorRealImages: 1000 }));
  });

  it('is supported by a peak inside the CFG range beyond both ends\' intervals', () => {
    const f = findingOf(run([1.3, 1.1, 1.5]), 'cfg-optimum');
    assert.equal(f.verdict, 'supported', f.reason);
    assert.match(f.reason, /peaks at CFG 2/);
    assert.ok(f.evidence.some((e) => e.measure === 'accuracy at N=30000 (CFG 2)' && e.ci95 !== null));
  });

  it('is contradicted when accuracy rises to the highest CFG, inconclusive when it peaks at the lowest', () => {
    assert.equal(findingOf(run([1.5, 1.3, 1.1]), 'cfg-optimum').verdict, 'contradicted');
    const low = findingOf(run([1.1, 1.3, 1.5]), 'cfg-optimum');
    assert.equal(low.verdict, 'inconclusive');
    assert.match(low.reason, /lowest CFG tested \(1\)/);
  });

  it('is not testable with fewer than three CFG values', () => {
    const two = analyzeSweep(makeCells({ real: CURVES.real!, cfg1: scaled(1.2), cfg2: scaled(1.1) }), sources.slice(0, 3), OPTIONS);
    assert.equal(findingOf(two, 'cfg-optimum').verdict, 'not-testable');
  });
});

describe('CLIP, OOD and mixing', () => {
  it('CLIP closes the gap when its ratio is nearer 1 than the classifier\'s', () => {
    const clipReal: SourceSummary = { ...REAL, name: 'clip:real' };
    const cells = makeCells({ real: CURVES.real!, s: CURVES['synth-cfg2']!, 'clip:real': CURVES.real!, 'clip:s': (n) => CURVES.real!(n * 0.8) });
    const a = analyzeSweep(cells, [REAL, synthetic('s'), clipReal, synthetic('clip:s')], OPTIONS);
    const f = findingOf(a, 'clip-closes-gap');
    assert.equal(f.verdict, 'supported', f.reason);
    const none = analyzeSweep(makeCells({ real: CURVES.real!, s: CURVES['synth-cfg2']! }), [REAL, synthetic('s')], OPTIONS);
    assert.equal(findingOf(none, 'clip-closes-gap').verdict, 'not-testable');
    assert.equal(findingOf(none, 'clip-closes-gap').reason, 'no CLIP cells in this sweep');
  });

  it('synthetic data helps out of distribution when its ratio rises under shift', () => {
    const clean = makeCells({ real: CURVES.real!, s: CURVES['synth-cfg2']! });
    const shifted = makeCells({ real: CURVES.real!, s: (n) => CURVES.real!(n / 3) }, SEEDS, 0.01, { evalSet: 'ood-noise', noiseSeed: 7 });
    const a = analyzeSweep([...clean, ...shifted], [REAL, synthetic('s')], OPTIONS);
    const f = findingOf(a, 'helps-ood');
    assert.equal(f.verdict, 'supported', f.reason);
    assert.equal(f.evidence[0]!.label, 's on ood-noise');
    assert.equal(findingOf(analyzeSweep(clean, [REAL, synthetic('s')], OPTIONS), 'helps-ood').reason, 'no OOD eval sets in this sweep');
  });

  it('mixing gains: supported when the mix beats real data, contradicted when it falls behind', () => {
    const mixed = (name: string): SourceSummary => ({ name, kind: 'mixed', description: 'real + s', manifestUri: 'mem://real', images: 30000, mix: { real: 'real', synthetic: 's' } });
    // A gain that is large at the smallest N and fades with N.
    const scarce: Curve = (n) => ({ ...CURVES.real!(n), err: CURVES.real!(n).err * (1 - 0.3 * (100 / n) ** 0.5) });
    const cells: CellMetrics[] = makeCells({ real: CURVES.real!, s: CURVES['synth-cfg2']!, good: scarce, bad: scaled(1.2) });
    const good = analyzeSweep(cells.filter((c) => c.source !== 'bad'), [REAL, synthetic('s'), mixed('good')], OPTIONS);
    assert.equal(findingOf(good, 'helps-when-scarce').verdict, 'supported');
    assert.match(findingOf(good, 'helps-when-scarce').evidence[0]!.measure, /gain at N=100/);
    assert.equal(findingOf(good, 'helps-in-mix').verdict, 'supported');
    assert.equal(findingOf(good, 'helps-in-mix').section, 'mixing');
    const bad = analyzeSweep(cells.filter((c) => c.source !== 'good'), [REAL, synthetic('s'), mixed('bad')], OPTIONS);
    assert.equal(findingOf(bad, 'helps-when-scarce').verdict, 'contradicted');
    assert.equal(findingOf(bad, 'helps-in-mix').verdict, 'contradicted');
  });

  it('lists every claim, in the paper\'s order, as plain JSON', () => {
    const a = analyzeSweep(makeCells({ real: CURVES.real! }), [REAL], OPTIONS);
    assert.deepEqual(
      a.findings.map((f) => [f.claim, f.verdict]),
      ['slopes-below-real', 'cfg-optimum', 'clip-closes-gap', 'helps-ood', 'helps-when-scarce', 'helps-in-mix'].map((c) => [c, 'not-testable']),
    );
    assert.deepEqual(JSON.parse(JSON.stringify(a.findings)), a.findings);
  });
});
