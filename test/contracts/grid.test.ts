import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cellAt, cellCountOf, cellsOf, imagesNeeded, mixCount, tasksOf, totalCells } from '../../contracts/grid.js';
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
  assert.equal(imagesNeeded(spec, 'syn'), 9000);
  assert.equal(imagesNeeded(spec, 'real'), 20000);
  assert.equal(imagesNeeded(spec, 'pairs'), 2000);
});
