// The adaptive loop against simulated sweeps with a known truth (activities/adapt/simulate.ts):
// power laws with seed noise and N-level effects. Over many worlds, its final intervals cover the
// true slope and slope ratio near their nominal rate (where a seed bootstrap alone does not), and it
// meets a slope-ratio target with fewer cells and images than the smallest fixed grid that meets it
// as often.
// Run: node --import tsx --test test/activities/adapt/simulate.test.ts
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TargetInterval } from '../../../../contracts/adaptive.js';
import { AdaptiveSchema } from '../../../../contracts/spec/adaptive.js';
import { simulateAdaptive, simWorld, smallestFixedGrid, type SimTruth } from '../../../../activities/analyze/adapt/simulate.js';

const ENVELOPE = { sizes: [125, 250, 500, 1000, 2000, 4000, 8000], seeds: [0, 1, 2, 3, 4, 5, 6, 7] };

/** Real and synthetic error curves with seed noise (sd 0.05 in ln y) and N-level offsets of sd tau. */
const truth = (tau: number): SimTruth => ({
  sources: {
    real: { kind: 'real', error: { a: 2, b: 0.35 }, loss: { a: 5, b: 0.3 }, seedSd: 0.05, tau },
    syn: { kind: 'synthetic', error: { a: 1, b: 0.2 }, loss: { a: 3, b: 0.15 }, seedSd: 0.05, tau },
  },
});

const covers = (iv: { lo: number | null; hi: number | null }, value: number) => iv.lo !== null && iv.hi !== null && iv.lo <= value && value <= iv.hi;
const bootstrapOf = (iv: TargetInterval) => iv.components!.find((c) => c.method.startsWith('seed bootstrap'))!;

describe('simWorld', () => {
  it('draws each cell from its (world, source, N, seed) alone, with N-level offsets shared by the seeds at N', () => {
    const world = simWorld(truth(0.05), 7);
    const cell = { source: 'real', size: 1000, seed: 3 };
    assert.deepEqual(world.train(cell), simWorld(truth(0.05), 7).train(cell));
    assert.notDeepEqual(world.train(cell), simWorld(truth(0.05), 8).train(cell));
    const exact = simWorld({ sources: { real: { ...truth(0).sources.real!, seedSd: 0 } } }, 7).train(cell);
    assert.ok(Math.abs(1 - exact.accuracy - 2 * 1000 ** -0.35) < 1e-12);
    // Without seed noise, two seeds at one N share the offset exactly.
    const shared = simWorld({ sources: { real: { ...truth(0.05).sources.real!, seedSd: 0 } } }, 7);
    assert.equal(shared.train(cell).accuracy, shared.train({ ...cell, seed: 5 }).accuracy);
    assert.notEqual(shared.train(cell).accuracy, exact.accuracy);
  });
});

describe('simulateAdaptive', () => {
  it('covers the true slope and slope ratio at >= 88% over 120 sweeps with N-level effects; a seed bootstrap alone would not', () => {
    const adaptive = AdaptiveSchema.parse({
      targets: [
        { quantity: 'slope', source: 'real', halfWidth: 0.04 },
        { quantity: 'slopeRatio', source: 'syn', halfWidth: 0.12 },
      ],
      budget: { cells: 200 },
    });
    const worlds = 120;
    const hull = [0, 0];
    const bootstrap = [0, 0];
    let met = 0;
    let cells = 0;
    for (let w = 0; w < worlds; w++) {
      const run = simulateAdaptive(truth(0.04), adaptive, ENVELOPE, `coverage-${w}`);
      run.final.forEach((iv, i) => {
        const value = run.truthValues[iv.id]!;
        if (covers(iv, value)) hull[i]!++;
        if (covers(bootstrapOf(iv), value)) bootstrap[i]!++;
      });
      if (run.final.every((iv) => iv.met)) met++;
      cells += run.cellsUsed;
    }
    const [slope, ratio] = hull.map((c) => c / worlds) as [number, number];
    const [slopeBoot, ratioBoot] = bootstrap.map((c) => c / worlds) as [number, number];
    console.log(
      `coverage over ${worlds} adaptive sweeps (level 0.95, N-level sd 0.04, seed sd 0.05): slope ${slope}, ratio ${ratio}; ` +
        `seed bootstrap alone: slope ${slopeBoot}, ratio ${ratioBoot}; targets met in ${met / worlds}, ${(cells / worlds).toFixed(1)} cells on average`,
    );
    assert.ok(slope >= 0.88, `slope coverage ${slope}`);
    assert.ok(ratio >= 0.88, `ratio coverage ${ratio}`);
    // The same sweeps read through the seed bootstrap alone: blind to N-level effects and too narrow with few seeds.
    assert.ok(slopeBoot < 0.85, `bootstrap slope coverage ${slopeBoot}`);
    assert.ok(ratioBoot < 0.85, `bootstrap ratio coverage ${ratioBoot}`);
  });

  it('meets a slope-ratio target with fewer cells and images than the smallest fixed grid that meets it as often', () => {
    const world = truth(0.03);
    const adaptive = AdaptiveSchema.parse({ targets: [{ quantity: 'slopeRatio', source: 'syn', halfWidth: 0.12 }], budget: { cells: 200 } });
    const seeds = Array.from({ length: 40 }, (_, w) => `savings-${w}`);
    const runs = seeds.map((seed) => simulateAdaptive(world, adaptive, ENVELOPE, seed));
    const rate = runs.filter((r) => r.final.every((iv) => iv.met)).length / runs.length;
    const cells = runs.reduce((s, r) => s + r.cellsUsed, 0) / runs.length;
    const images = runs.reduce((s, r) => s + r.imagesUsed, 0) / runs.length;
    const grid = smallestFixedGrid(world, adaptive, ENVELOPE, seeds, rate);
    assert.ok(grid, `no fixed grid of the envelope meets the target in ${rate} of the worlds`);
    console.log(
      `slope ratio ±0.12: adaptive meets it in ${rate} of ${runs.length} worlds with ${cells.toFixed(1)} cells (${Math.round(images)} images) on average; ` +
        `the smallest fixed grid as good is ${grid.sizes.length} N x ${grid.seeds.length} seeds x 2 sources = ${grid.cells} cells (${grid.images} images, meets in ${grid.metRate}): ` +
        `${(grid.cells - cells).toFixed(1)} cells saved`,
    );
    assert.ok(rate >= 0.8, `adaptive met rate ${rate}`);
    assert.ok(cells < grid.cells, `adaptive ${cells} cells vs fixed ${grid.cells}`);
    assert.ok(images < grid.images, `adaptive ${images} images vs fixed ${grid.images}`);
  });
});
