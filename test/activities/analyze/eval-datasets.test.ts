// Eval sets of another dataset with the same classes (the analogue of ImageNet-Sketch and
// ImageNet-R): each is its own curve per source, never the clean eval set (even when listed first),
// and a shift the out-of-distribution finding tests, like the OOD suites.
// Run: node --import tsx --test test/activities/analyze/eval-datasets.test.ts
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeSweep } from '../../../activities/analyze/analyze-sweep.js';
import { otherDatasetEvalSets } from '../../../activities/analyze/activity.js';
import type { SweepSpec } from '../../../contracts/spec/sweep.js';
import { CURVES, makeCells, SEEDS, SOURCES, synthetic } from './analyze-fixtures.js';

const REAL = SOURCES[0]!;
const OPTIONS = { analysis: { bootstrapDraws: 300, minSizes: 5, minDecades: 1.5, minR2: 0.9 } };

describe('eval sets of another dataset', () => {
  // 'sketch' comes first, as a spec may list it; the synthetic source closes the gap there.
  const sketch = makeCells({ real: CURVES.real!, s: (n) => CURVES.real!(n / 3) }, SEEDS, 0.01, { evalSet: 'sketch', noiseSeed: 5 });
  const clean = makeCells({ real: CURVES.real!, s: CURVES['synth-cfg2']! });
  const cells = [...sketch, ...clean];
  const sources = [REAL, synthetic('s')];

  it('are curves of their own, and the clean eval set is the sweep\'s own split', () => {
    const a = analyzeSweep(cells, sources, { ...OPTIONS, otherDatasetEvalSets: ['sketch'] });
    assert.deepEqual(a.evalSets, ['sketch', 'test']);
    for (const evalSet of ['sketch', 'test']) for (const source of ['real', 's']) assert.ok(a.curves.some((c) => c.source === source && c.evalSet === evalSet), `${source} on ${evalSet}`);
    assert.deepEqual(a.comparisons.map((c) => c.evalSet).sort(), ['sketch', 'test']);
    const ood = a.findings.find((f) => f.claim === 'helps-ood')!;
    assert.equal(ood.verdict, 'supported', ood.reason);
    assert.deepEqual(ood.evidence.map((e) => e.label), ['s on sketch']);
    assert.match(ood.evidence[0]!.note!, /^ratios: clean \d\.\d{3}, sketch \d\.\d{3}$/, 'compared with the clean split, not with itself');
    // Without knowing it is another dataset, the first eval set would be taken as the clean one.
    const byName = analyzeSweep(cells, sources, OPTIONS);
    assert.equal(byName.findings.find((f) => f.claim === 'helps-ood')!.verdict, 'not-testable');
  });

  it('are read from the spec: its eval entries with a dataset of their own', () => {
    const spec = {
      eval: [
        { name: 'test', split: 'test' },
        { name: 'sketch', split: 'test', dataset: { kind: 'imagefolder', root: '/data/sketch' } },
        { name: 'val', split: 'val' },
      ],
    } as unknown as SweepSpec;
    assert.deepEqual(otherDatasetEvalSets(spec), ['sketch']);
  });
});
