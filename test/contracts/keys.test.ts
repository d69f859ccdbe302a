import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cellWorkflowPart, manifestKey, shardFileName, sourceContentName, sourceWorkflowPart } from '../../contracts/keys.js';

// These formats name objects in stores and workflows in running clusters: they must not drift.
test('shard names: full shards by index, a partial last shard also by its count', () => {
  assert.equal(shardFileName(3, 1000, 1000), 'shard-000003.tar');
  assert.equal(shardFileName(7, 40, 1000), 'shard-000007-n40.tar');
  assert.equal(manifestKey('sources/synthetic-abc', 8160), 'sources/synthetic-abc/manifest-n8160.json');
  assert.equal(sourceContentName('sources/synthetic-abc'), 'synthetic-abc');
});

test('child workflow ids: sources and cells of each task', () => {
  assert.equal(sourceWorkflowPart('real'), 'source/real');
  assert.equal(cellWorkflowPart({ source: 'syn', task: 'classifier', size: 500, seed: 2 }), 'cell/syn/n500/s2');
  assert.equal(cellWorkflowPart({ source: 'syn', task: 'clip', size: 500, seed: 2 }), 'cell/syn/clip/n500/s2');
});
