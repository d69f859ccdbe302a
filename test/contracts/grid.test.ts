import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cellAt, cellCountOf, cellData, cellsOf, imagesNeeded, imagesPerSeed, mixCount, seedWindowOffset, tasksOf, totalCells } from '../../contracts/grid.js';
import { validateSpec } from '../../contracts/spec/sweep.js';

const spec = validateSpec({
  sweepId: 'grid',
  dataset: 'fashion-mnist',
  tasks: ['classifier', 'clip'],
  sources: [
    { name: 'real', kind: 'real' },
    { name: 'pairs', kind: 'real-pairs' },
    { name: 'syn', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 2 },
    { name: 'mix', kind: 'mixed', real: 'real', synthetic: 'syn', syntheticPerReal: 1.5 },
    { name: 'pairs-mix', kind: 'mixed', real: 'pairs', synthetic: 'syn', syntheticImages: 9000 },
  ],
  sizes: [2000, 500, 1000],
  seeds: [3, 1],
  recognizability: { judgeImages: 20000 },
});

test('cells run per task, then N ascending, then seeds in spec order', () => {
  const cells = cellsOf(spec, 'real');
  assert.equal(cells.length, 2 * 3 * 2);
  assert.deepEqual(cells.slice(0, 3).map((c) => [c.task, c.size, c.seed]), [['classifier', 500, 3], ['classifier', 500, 1], ['classifier', 1000, 3]]);
  assert.deepEqual([cells[6]!.task, cells[6]!.size, cells[6]!.seed], ['clip', 500, 3]);
  assert.deepEqual(cellAt(spec, 'real', 11), { source: 'real', task: 'clip', size: 2000, seed: 1, index: 11 });
  assert.throws(() => cellAt(spec, 'real', 12), /has no cell 12 \(it has 12\)/);
});

test('sources without labels (and mixes over them) train only tasks that need none', () => {
  assert.deepEqual(tasksOf(spec, 'pairs'), ['clip']);
  assert.deepEqual(tasksOf(spec, 'pairs-mix'), ['clip']);
  assert.deepEqual(tasksOf(spec, 'mix'), ['classifier', 'clip']);
  assert.equal(cellCountOf(spec, 'pairs'), 6);
  assert.equal(totalCells(spec), 12 + 6 + 12 + 12 + 6);
});

test('a source holds the largest N, more when a mix or the judge reads more', () => {
  assert.equal(mixCount({ syntheticPerReal: 1.5 }, 2000), 3000);
  assert.equal(mixCount({ syntheticImages: 9000 }, 500), 9000);
  assert.equal(imagesPerSeed(spec, 'syn'), 9000);
  assert.equal(imagesPerSeed(spec, 'real'), 20000);
  assert.equal(imagesPerSeed(spec, 'pairs'), 2000);
  // Seeds redraw data (the default): a generated pool holds every seed's window, half overlapping.
  assert.equal(imagesNeeded(spec, 'syn'), 9000 + 4500);
  // Real sources write one manifest per seed instead.
  assert.equal(imagesNeeded(spec, 'real'), 20000);
  assert.equal(imagesNeeded({ ...spec, seedDraws: 'init' }, 'syn'), 9000);
});

test('a cell reads its seed: its own real manifest, its own window of a generated pool', () => {
  const summaries: Record<string, { manifestUri: string; seedManifests?: Record<string, string> }> = {
    real: { manifestUri: 'real-s3', seedManifests: { '3': 'real-s3', '1': 'real-s1' } },
    syn: { manifestUri: 'syn' },
  };
  const of = (name: string) => summaries[name];
  assert.deepEqual(cellData(spec, of, { source: 'real', size: 500, seed: 1 }), { manifestUri: 'real-s1' });
  assert.deepEqual(cellData(spec, of, { source: 'syn', size: 500, seed: 3 }), { manifestUri: 'syn' });
  assert.deepEqual(cellData(spec, of, { source: 'syn', size: 500, seed: 1 }), { manifestUri: 'syn', offset: 4500 });
  assert.deepEqual(cellData(spec, of, { source: 'mix', size: 1000, seed: 1 }), {
    manifestUri: 'real-s1',
    mix: [{ manifestUri: 'syn', offset: 4500, count: 1500 }],
  });
  // Two seeds' windows at the largest count overlap by at most half.
  const w = imagesPerSeed(spec, 'syn');
  assert.ok(w - seedWindowOffset(spec, 'syn', 1) <= w / 2);
  assert.deepEqual(cellData({ ...spec, seedDraws: 'init' }, of, { source: 'syn', size: 500, seed: 1 }), { manifestUri: 'syn' });
});
