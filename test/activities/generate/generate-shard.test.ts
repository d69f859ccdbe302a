// The generateShard activity end to end: an uninterrupted run commits the shard and removes its
// parts, a committed shard is returned without work (unless corrupt, or stored for another count),
// failed items are bookkept, transient faults are retried, and bad inputs fail at once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';
import { STORAGE_TIMEOUT_ENV } from '../../../core/resilience.js';
import { sampleKey, unpackShard } from '../../../core/shards/webdataset.js';
import { readLedger } from '../../../core/work-ledger.js';
import { GENERATE_ITEM_TIMEOUT_ENV } from '../../../activities/generate/shard-input.js';
import { synthesizePromptList } from '../../../activities/prompts/strategies.js';
import { COUNT, FIRST, flipByte, fx, imagesDone, input, partsOf, referenceRun, referenceShard, runAttempt, useShardFixture, withFaults } from './shard-fixture.js';

useShardFixture();

describe('generateShard', () => {
  // A suite: long only by the number of its (independent) tests.
  test('an uninterrupted run samples every item once, commits the shard and removes its parts', async () => {
    const key = input('reference').shardKey;
    const { out, error } = await referenceRun();
    assert.ifError(error);
    assert.ok(out);
    assert.equal(out.cached, false);
    assert.equal(out.attempt, 1);
    assert.equal(out.samples, COUNT);
    assert.equal(out.imagesSampled, COUNT);
    assert.equal(out.resumedFrom, 0);
    assert.equal(out.itemRetries, 0);
    assert.equal(out.corruptRegenerated, false);
    assert.deepEqual(out.failedItems, []);
    assert.equal(out.firstIndex, FIRST);
    assert.equal(imagesDone(key), COUNT);
    assert.deepEqual(await partsOf(key), []);
    const bytes = await fx.store.get(key);
    assert.equal(out.sha256, (await fx.store.head(key))!.sha256);
    const samples = await unpackShard(bytes, key);
    assert.deepEqual(samples.map((s) => s.key), Array.from({ length: COUNT }, (_, i) => sampleKey(FIRST + i)));
    assert.equal(samples[0]!.meta.prompt, synthesizePromptList('classnames', FASHION_MNIST_CLASSES, FIRST + 1, 3)[FIRST]!.text);
  });

  test('a committed shard is returned cached, without work', async () => {
    const ref = await referenceShard();
    const key = input('reference').shardKey;
    const before = readLedger(fx.ledgerDir).length;
    const { out, error } = await runAttempt(input('reference'), { attempt: 3 });
    assert.ifError(error);
    assert.equal(out!.cached, true);
    assert.equal(out!.imagesSampled, 0);
    assert.equal(out!.sha256, ref.out.sha256);
    assert.equal(out!.samples, COUNT);
    assert.equal(readLedger(fx.ledgerDir).length, before, 'no work recorded');
    assert.deepEqual(await fx.store.get(key), ref.bytes);
  });

  test('a corrupted committed shard is regenerated, not returned cached', async () => {
    const ref = await referenceShard();
    const shard = input('corrupt-shard');
    assert.ifError((await runAttempt(shard)).error);
    await flipByte(shard.shardKey);
    const again = await runAttempt(shard, { attempt: 1 });
    assert.ifError(again.error);
    assert.equal(again.out!.cached, false);
    assert.equal(again.out!.corruptRegenerated, true);
    assert.equal(again.out!.imagesSampled, COUNT);
    assert.deepEqual(await fx.store.get(shard.shardKey), ref.bytes);
  });

  test('items that always fail land in failedItems with their reason; the shard holds the rest', async () => {
    const shard = input('always-fail');
    const failing = FIRST + 7;
    const { out, error } = await withFaults({ alwaysFailPromptIndices: [failing] }, {}, () => runAttempt(shard));
    assert.ifError(error);
    assert.equal(out!.samples, COUNT - 1);
    assert.equal(out!.failedItems.length, 1);
    assert.equal(out!.failedItems[0]!.index, failing);
    assert.match(out!.failedItems[0]!.reason, /injected permanent failure for prompt 107/);
    assert.ok(out!.failedItems[0]!.reason.length <= 200);
    assert.equal(out!.itemRetries, 0, 'a permanent (transient: false) failure is not retried');
    const samples = await unpackShard(await fx.store.get(shard.shardKey), shard.shardKey);
    assert.equal(samples.length, COUNT - 1);
    assert.ok(!samples.some((s) => s.key === sampleKey(failing)));
    const stats = JSON.parse(new TextDecoder().decode(await fx.store.get(`${shard.shardKey}.stats.json`))) as { samples: number; failedItems: unknown[] };
    assert.equal(stats.samples, COUNT - 1);
    assert.deepEqual(stats.failedItems, out!.failedItems);

    // The cached path reports the same failed items, and a resumed run keeps them too.
    const cached = await runAttempt(shard);
    assert.equal(cached.out!.cached, true);
    assert.deepEqual(cached.out!.failedItems, out!.failedItems);
  });

  test('transient generator and storage faults (failures, hangs past the timeouts) are retried: same bytes', async () => {
    const ref = await referenceShard();
    const shard = input('faulty', { itemAttempts: 10 });
    const { out, error } = await withFaults(
      { generateFailRate: 0.2, generateHangRate: 0.1, storageWriteFailRate: 0.1, storageHangRate: 0.02, hangMs: 5000 },
      { [GENERATE_ITEM_TIMEOUT_ENV]: '150', [STORAGE_TIMEOUT_ENV]: '300' },
      () => runAttempt(shard),
    );
    assert.ifError(error);
    assert.ok(out!.itemRetries > 0, 'items were retried');
    assert.deepEqual(out!.failedItems, []);
    assert.equal(typeof out!.storageRetries, 'number');
    assert.deepEqual(await fx.store.get(shard.shardKey), ref.bytes);
    assert.equal(imagesDone(shard.shardKey), COUNT);
  });

  test('invalid inputs fail without retries', async () => {
    const { error } = await runAttempt(input('invalid', { chunkSize: 0 }));
    assert.match(String(error), /chunkSize/);
    assert.equal((error as { nonRetryable?: boolean }).nonRetryable, true);
  });
});

test('a shard stored for a smaller count is not taken for a larger one at the same key', async () => {
  const key = 'shard-count-check';
  const small = await runAttempt(input(key, { count: 3 }));
  assert.equal(small.out?.samples, 3);
  const full = await runAttempt(input(key));
  assert.equal(full.out?.cached, false, 'the 3-sample shard is not a cache hit for the full count');
  assert.equal(full.out?.samples, COUNT);
  const again = await runAttempt(input(key));
  assert.equal(again.out?.cached, true);
});
