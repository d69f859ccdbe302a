// The training split's two pools: disjoint, complete, fixed per dataset fingerprint.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trainPools } from '../../../core/datasets/splits.js';

test('the pools are disjoint halves that together hold every row, fixed per fingerprint', () => {
  const { generatorPool, realPool } = trainPools('fp-a', 1001);
  assert.equal(generatorPool.length, 500);
  assert.equal(realPool.length, 501);
  const all = [...generatorPool, ...realPool];
  assert.equal(new Set(all).size, 1001, 'no row is in both pools');
  assert.deepEqual([...all].sort((a, b) => a - b), Array.from({ length: 1001 }, (_, i) => i));
  const again = trainPools('fp-a', 1001);
  assert.deepEqual([...again.generatorPool], [...generatorPool]);
  assert.deepEqual([...again.realPool], [...realPool]);
  assert.notDeepEqual([...trainPools('fp-b', 1001).generatorPool], [...generatorPool], 'another dataset, another split');
});
