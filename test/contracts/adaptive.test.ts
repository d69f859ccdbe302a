// The adaptive block of the spec: its schema's defaults and refusals (contracts/spec/adaptive.ts),
// the cross-field checks against the sweep, the first round, target labels and resolved defaults
// (contracts/adaptive.ts).
// Run: node --import tsx --test test/contracts/adaptive.test.ts
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adaptiveSpecIssues, initialCells, logSpreadSizes, resolveTargets, targetId, targetLabel, type AdaptiveSweepShape } from '../../contracts/adaptive.js';
import { AdaptiveSchema } from '../../contracts/spec/adaptive.js';

const SWEEP: AdaptiveSweepShape = {
  sizes: [125, 250, 500, 1000, 2000, 4000, 8000],
  seeds: [0, 1, 2, 3, 4, 5, 6, 7],
  sources: [
    { name: 'real', kind: 'real' },
    { name: 'syn', kind: 'synthetic' },
    { name: 'mix', kind: 'mixed', real: 'real', synthetic: 'syn' },
    { name: 'pairs', kind: 'real-pairs' },
  ],
  eval: [{ name: 'test' }, { name: 'sketch' }],
};

const EXAMPLE = {
  initial: { sizes: [250, 1000, 4000], seeds: [0, 1] },
  targets: [
    { quantity: 'slope', source: 'real', metric: 'error', halfWidth: 0.05 },
    { quantity: 'slopeRatio', source: 'syn', real: 'real', metric: 'error', halfWidth: 0.1 },
    { quantity: 'accuracyGap', source: 'syn', real: 'real', n: 1000, halfWidth: 0.02 },
    { quantity: 'realEquivalent', source: 'syn', n: 4000, metric: 'loss', relHalfWidth: 0.25 },
    { quantity: 'mixingGain', source: 'mix', n: 1000, halfWidth: 0.02 },
  ],
  budget: { cells: 200, images: 2_000_000, hours: 48 },
};

describe('AdaptiveSchema', () => {
  it('parses the example block with its defaults', () => {
    const a = AdaptiveSchema.parse(EXAMPLE);
    assert.equal(a.cellsPerRound, 8);
    assert.equal(a.level, 0.95);
    const [slope] = AdaptiveSchema.parse({ targets: [{ quantity: 'slope', source: 'real', halfWidth: 0.05 }], budget: { cells: 10 } }).targets;
    assert.equal(slope?.quantity === 'slope' && slope.metric, 'error');
  });

  it('refuses unknown keys, a budget of nothing, and a half-width of the wrong kind', () => {
    const bad = (block: unknown) => !AdaptiveSchema.safeParse(block).success;
    assert.ok(bad({ ...EXAMPLE, rounds: 3 }));
    assert.ok(bad({ ...EXAMPLE, budget: {} }));
    assert.ok(bad({ ...EXAMPLE, targets: [{ quantity: 'realEquivalent', source: 'syn', n: 4000, halfWidth: 0.25 }] }));
    assert.ok(bad({ ...EXAMPLE, targets: [] }));
  });
});

describe('adaptiveSpecIssues', () => {
  it('finds nothing wrong with the example', () => {
    assert.deepEqual(adaptiveSpecIssues(SWEEP, AdaptiveSchema.parse(EXAMPLE)), []);
  });

  it('names each wrong field and its fix', () => {
    const block = AdaptiveSchema.parse({
      initial: { sizes: [300], seeds: [9] },
      targets: [
        { quantity: 'slope', source: 'nope', halfWidth: 0.05 },
        { quantity: 'slopeRatio', source: 'syn', real: 'syn', halfWidth: 0.1 },
        { quantity: 'accuracyGap', source: 'syn', n: 1234, halfWidth: 0.02, evalSet: 'ood' },
        { quantity: 'mixingGain', source: 'syn', n: 1000, halfWidth: 0.02 },
        { quantity: 'slope', source: 'pairs', halfWidth: 0.05 },
        { quantity: 'accuracyGap', source: 'syn', n: 1234, halfWidth: 0.05, evalSet: 'ood' },
      ],
      budget: { cells: 2 },
    });
    const issues = adaptiveSpecIssues(SWEEP, block);
    const at = (path: (string | number)[]) => issues.filter((i) => JSON.stringify(i.path) === JSON.stringify(path)).map((i) => i.message);
    assert.match(at(['adaptive', 'initial', 'sizes', 0])[0]!, /300 is not in the spec's sizes .*125, 250/);
    assert.match(at(['adaptive', 'initial', 'seeds', 0])[0]!, /9 is not in the spec's seeds/);
    assert.match(at(['adaptive', 'targets', 0, 'source'])[0]!, /'nope' is not a source of this spec/);
    assert.match(at(['adaptive', 'targets', 1, 'real'])[0]!, /'syn' is not a real source of this spec \(real sources: real\)/);
    assert.match(at(['adaptive', 'targets', 2, 'n'])[0]!, /N=1234 is not one of sizes/);
    assert.match(at(['adaptive', 'targets', 2, 'evalSet'])[0]!, /'ood' is not an eval set .*test, sketch/);
    assert.match(at(['adaptive', 'targets', 3, 'source'])[0]!, /'syn' is a synthetic source; mixingGain measures a mixed source/);
    assert.match(at(['adaptive', 'targets', 4, 'source'])[0]!, /'pairs' is a real-pairs source/);
    assert.match(at(['adaptive', 'targets', 5])[0]!, /the same quantity as targets\[2\]/);
    assert.match(at(['adaptive', 'budget', 'cells'])[0]!, /the first round alone has 3 cells/);
  });

  it('a slope needs enough sizes in the envelope, a gap enough seeds', () => {
    const block = AdaptiveSchema.parse({ targets: [{ quantity: 'slope', source: 'real', halfWidth: 0.05 }, { quantity: 'accuracyGap', source: 'syn', n: 250, halfWidth: 0.05 }], budget: { cells: 100 } });
    const issues = adaptiveSpecIssues({ ...SWEEP, sizes: [250, 1000], seeds: [0], analysis: { minSizes: 5, minDecades: 1.5 } }, block);
    assert.ok(issues.some((i) => /at least 5 distinct N and sizes has 2/.test(i.message)));
    assert.ok(issues.some((i) => /span 1.5 decades \(analysis.minDecades\) and sizes span 0.60/.test(i.message)));
    assert.ok(issues.some((i) => /at least 2 seeds at N=250/.test(i.message)));
  });
});

describe('first round, labels and defaults', () => {
  it('round 0: every classifier source at 3 log-spread sizes x the first 2 seeds by default', () => {
    assert.deepEqual(logSpreadSizes(SWEEP.sizes, 3), [125, 1000, 8000]);
    assert.deepEqual(logSpreadSizes([100, 200, 5000], 5), [100, 200, 5000]);
    const cells = initialCells(SWEEP, AdaptiveSchema.parse({ ...EXAMPLE, initial: {} }));
    assert.equal(cells.length, 3 * 3 * 2, 'real, syn and mix; real-pairs trains CLIP only');
    assert.deepEqual(cells.slice(0, 2), [{ source: 'real', size: 125, seed: 0 }, { source: 'real', size: 125, seed: 1 }]);
    assert.equal(initialCells(SWEEP, AdaptiveSchema.parse(EXAMPLE)).length, 3 * 3 * 2);
  });

  it('labels, ids and resolved defaults', () => {
    const a = AdaptiveSchema.parse(EXAMPLE);
    assert.deepEqual(a.targets.map(targetLabel), [
      'slope of real (error)',
      'syn/real slope ratio (error)',
      'accuracy gap syn - real at N=1000',
      'real-data equivalent of syn at N=4000 (loss)',
      'mixing gain of mix at N=1000',
    ]);
    assert.equal(targetId(a.targets[2]!, 2), 't3-accuracyGap-syn-n1000');
    const resolved = resolveTargets(SWEEP, a);
    assert.deepEqual(
      resolved.map((t) => [t.real, t.evalSet, t.metric, t.wanted]),
      [
        [undefined, 'test', 'error', 0.05],
        ['real', 'test', 'error', 0.1],
        ['real', 'test', 'accuracy', 0.02],
        ['real', 'test', 'loss', 0.25],
        ['real', 'test', 'accuracy', 0.02],
      ],
    );
    assert.equal(new Set(resolved.map((t) => t.id)).size, resolved.length);
  });
});
