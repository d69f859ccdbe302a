// The adaptive loop's decision rule (activities/adapt/decide.ts): deterministic in the stored
// results (and only in them: not in their order), within the round size, the envelope and the
// budget, and with each of its stops: targets met, budget, envelope exhausted.
// Run: node --import tsx --test test/activities/adapt/decide.test.ts
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialCells, resolveTargets, type AdaptiveSpecInput, type CellRef } from '../../../../contracts/adaptive.js';
import { AdaptiveSchema } from '../../../../contracts/spec/adaptive.js';
import { decideNext, type DecideInput } from '../../../../activities/analyze/adapt/decide.js';
import { simShape, simulateAdaptive, simWorld, type SimTruth } from '../../../../activities/analyze/adapt/simulate.js';

const TRUTH: SimTruth = {
  sources: {
    real: { kind: 'real', error: { a: 2, b: 0.35 }, loss: { a: 5, b: 0.3 }, seedSd: 0.05, tau: 0.03 },
    syn: { kind: 'synthetic', error: { a: 1, b: 0.2 }, loss: { a: 3, b: 0.15 }, seedSd: 0.05, tau: 0.03 },
  },
};
const ENVELOPE = { sizes: [125, 250, 500, 1000, 2000, 4000, 8000], seeds: [0, 1, 2, 3, 4, 5, 6, 7] };
const RATIO = { quantity: 'slopeRatio', source: 'syn', halfWidth: 0.1 } as const;

/** The first decision's input: round 0 of `adaptive` trained in world `world`. */
function firstInput(spec: AdaptiveSpecInput, world: string | number = 3, envelope = ENVELOPE): DecideInput {
  const adaptive = AdaptiveSchema.parse(spec);
  const shape = simShape(TRUTH, envelope);
  const done = initialCells(shape, adaptive);
  const cells = done.map(simWorld(TRUTH, world).train);
  const spent = { cells: done.length, images: done.reduce((s, c) => s + c.size, 0), hours: cells.reduce((s, c) => s + c.trainSeconds / 3600, 0) };
  return { adaptive, targets: resolveTargets(shape, adaptive), envelope, cells, done, spent, round: 1, bootstrap: { draws: 400, seed: 0 } };
}

const key = (c: CellRef) => `${c.source}|${c.size}|${c.seed}`;

describe('decideNext', () => {
  const spec = { initial: { sizes: [125, 500, 2000, 8000], seeds: [0, 1] }, targets: [RATIO], budget: { cells: 200 } };

  it('is a deterministic function of the stored results, not of their order', () => {
    const input = firstInput(spec);
    const first = decideNext(input);
    assert.deepEqual(decideNext(input), first);
    assert.deepEqual(decideNext({ ...input, cells: [...input.cells].reverse(), done: [...input.done].reverse() }), first);
  });

  it('a change in one stored result changes the cells it picks', () => {
    const input = firstInput(spec);
    const before = decideNext(input);
    // One seed of syn at N=8000 with 25% more error: more seed noise there, a wider ratio.
    const cells = input.cells.map((c) => (c.source === 'syn' && c.size === 8000 && c.seed === 0 ? { ...c, accuracy: 1 - (1 - c.accuracy) * 1.25 } : c));
    const after = decideNext({ ...input, cells });
    assert.notDeepEqual(after.cells, before.cells);
    assert.ok(after.intervals[0]!.halfWidth! > before.intervals[0]!.halfWidth!);
  });

  it('picks at most cellsPerRound new cells of the envelope, each once, with reasons that carry the numbers', () => {
    const input = firstInput(spec);
    const decision = decideNext(input);
    assert.equal(decision.stop, null);
    assert.ok(decision.cells.length > 0 && decision.cells.length <= 8);
    const done = new Set(input.done.map(key));
    assert.equal(new Set(decision.cells.map(key)).size, decision.cells.length);
    for (const c of decision.cells) {
      assert.ok(!done.has(key(c)), `${key(c)} was trained already`);
      assert.ok(ENVELOPE.sizes.includes(c.size) && ENVELOPE.seeds.includes(c.seed));
    }
    assert.deepEqual(
      decision.actions.flatMap((a) => a.seeds.map((seed) => ({ source: a.source, size: a.size, seed }))),
      decision.cells,
    );
    for (const a of decision.actions) {
      assert.equal(a.cost, a.size * a.seeds.length);
      assert.equal(a.target, decision.intervals[0]!.id);
      assert.match(a.reason, /^syn\/real slope ratio \(error\): ±[\d.]+ vs ±0\.1 wanted; .*tau²=.*: predicted ±[\d.]+ per \d+ images$/);
    }
  });

  it('brackets an extrapolated real-data equivalent with a real N next to it', () => {
    // Real has only 2000-8000; syn at 125 is worth about 114 real images, far below: real N of 125-250 bracket it.
    const input = firstInput({ initial: { sizes: [2000, 4000, 8000], seeds: [0, 1, 2] }, targets: [{ quantity: 'realEquivalent', source: 'syn', n: 2000, relHalfWidth: 0.2 }], budget: { cells: 200 } });
    const cells = [...input.cells, ...[0, 1].map((seed) => simWorld(TRUTH, 3).train({ source: 'syn', size: 125, seed }))];
    const decision = decideNext({ ...input, cells, done: [...input.done, ...cells.slice(-2)], targets: resolveTargets(simShape(TRUTH, ENVELOPE), AdaptiveSchema.parse({ targets: [{ quantity: 'realEquivalent', source: 'syn', n: 125, relHalfWidth: 0.2 }], budget: { cells: 200 } })) });
    const bracket = decision.actions.find((a) => a.kind === 'bracket');
    assert.ok(bracket, JSON.stringify(decision.actions.map((a) => a.reason), null, 1));
    assert.equal(bracket.source, 'real');
    assert.ok(bracket.size <= 1000, `bracket at N=${bracket.size}`);
    assert.match(bracket.reason, /N_eq≈/);
  });

  it('stops when every target is met', () => {
    const input = firstInput({ initial: { sizes: [125, 500, 2000, 8000], seeds: [0, 1, 2] }, targets: [{ ...RATIO, halfWidth: 5 }], budget: { cells: 200 } });
    const decision = decideNext(input);
    assert.deepEqual(decision.cells, []);
    assert.equal(decision.stop?.reason, 'targets-met');
  });

  it('stops for the budget when it is spent or when no candidate fits what is left', () => {
    const input = firstInput(spec);
    const spent = decideNext({ ...input, adaptive: { ...input.adaptive, budget: { cells: input.spent.cells } } });
    assert.equal(spent.stop?.reason, 'budget');
    assert.match(spent.stop!.detail, /spent 16 of 16 cells/);
    const tight = decideNext({ ...input, adaptive: { ...input.adaptive, budget: { images: input.spent.images + 100 } } });
    assert.equal(tight.stop?.reason, 'budget', 'the cheapest cell has 125 images');
    assert.match(tight.stop!.detail, /100 images/);
    const hours = decideNext({ ...input, adaptive: { ...input.adaptive, budget: { hours: input.spent.hours + 1000 * 0.001 / 3600 } } });
    assert.ok(hours.cells.reduce((s, c) => s + c.size, 0) <= 1000, 'at 1 ms per image, 1 s buys 1000 images');
  });

  it('stops when the envelope has nothing left, or nothing that could reach the target', () => {
    const grid = { sizes: [125, 500, 2000, 8000], seeds: [0, 1] };
    const input = firstInput(spec, 3, grid);
    const exhausted = decideNext(input);
    assert.equal(exhausted.stop?.reason, 'envelope-exhausted');
    assert.match(exhausted.stop!.detail, /no cell left/);
    // ±0.01 on the ratio with N-level sd 0.03 over 1.8 decades: out of reach even with all 112 cells.
    const far = firstInput({ initial: { sizes: [125, 250, 1000, 4000, 8000], seeds: [0, 1, 2] }, targets: [{ ...RATIO, halfWidth: 0.01 }], budget: { cells: 200 } });
    const out = decideNext(far);
    assert.equal(out.stop?.reason, 'envelope-exhausted');
    assert.match(out.stop!.detail, /predicted ±[\d.]+ with all \d+ cells the envelope has left for it, vs ±0\.01 wanted/);
  });
});

describe('the loop within its budget', () => {
  it('never passes budget.cells or budget.images, and says budget when it stops there', () => {
    // No N-level effects: ±0.05 is within the envelope's reach, not within the budget's.
    const truth: SimTruth = { sources: { real: { ...TRUTH.sources.real!, tau: 0 }, syn: { ...TRUTH.sources.syn!, tau: 0 } } };
    const spec = { targets: [{ ...RATIO, halfWidth: 0.05 }], cellsPerRound: 8 };
    for (const budget of [{ cells: 24 }, { images: 45_000 }]) {
      for (const world of [1, 2, 3]) {
        const run = simulateAdaptive(truth, AdaptiveSchema.parse({ ...spec, budget }), ENVELOPE, world);
        if (budget.cells) assert.ok(run.cellsUsed <= budget.cells, `${run.cellsUsed} cells`);
        if (budget.images) assert.ok(run.imagesUsed <= budget.images, `${run.imagesUsed} images`);
        const last = run.decisions[run.decisions.length - 1]!;
        assert.equal(last.stop?.reason, 'budget', last.stop?.detail);
        for (const d of run.decisions) assert.ok(d.cells.length <= 8);
      }
    }
  });
});
