// generateShard under crashes and cancellation: a retry resumes mid-shard from the committed parts
// (listed, so even without heartbeat details; heartbeat details are only a cross-check), samples
// every item exactly once (work ledger), regenerates corrupt parts, and ends with the bytes of an
// uninterrupted run.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CancelledFailure } from '@temporalio/activity';
import type { BlobStore, PutResult } from '../../../core/storage.js';
import { createGenerateActivities } from '../../../activities/generate/activity.js';
import { parseGenerateHeartbeat } from '../../../activities/generate/heartbeat.js';
import type { GenerateShardOutput } from '../../../activities/generate/io.js';
import { CHUNK, COUNT, flipByte, fx, imagesDone, input, partsEnd, partsOf, referenceShard, runAttempt, useShardFixture } from './shard-fixture.js';

useShardFixture();

describe('generateShard resumes', () => {
  // A suite: long only by the number of its (independent) tests.
  test('cancelled after 2 chunks, the retry resumes from the heartbeat and parts: same bytes, only the rest sampled', async () => {
    const ref = await referenceShard();
    const shard = input('cancelled');
    const first = await runAttempt(shard, { attempt: 1 }, (hb) => hb.imagesDone >= 2 * CHUNK);
    assert.ok(first.error instanceof CancelledFailure, `cancelled, got ${String(first.error)}`);
    assert.equal(await fx.store.head(shard.shardKey), null, 'no shard yet');
    // Two whole chunks, plus the items of the third sampled while the second was being written
    // (parts are written while the next chunk is sampled): a partial part, or the whole third
    // chunk when it was done before the cancellation arrived.
    const end = await partsEnd(shard.shardKey);
    assert.ok(end >= 2 * CHUNK && end <= 3 * CHUNK, `parts end at ${end}`);
    const parts = await partsOf(shard.shardKey);
    assert.deepEqual(parts.slice(0, 4), [
      `${shard.shardKey}.part-000000`,
      `${shard.shardKey}.part-000000.json`,
      `${shard.shardKey}.part-000010`,
      `${shard.shardKey}.part-000010.json`,
    ]);
    assert.equal(parts.length, end > 2 * CHUNK ? 6 : 4, parts.join());
    assert.equal(imagesDone(shard.shardKey, 1), end);
    const last = first.heartbeats.at(-1)!;
    assert.deepEqual(last, { imagesDone: end, of: COUNT, shard: shard.shardKey });

    const second = await runAttempt(shard, { attempt: 2, heartbeatDetails: last });
    assert.ifError(second.error);
    assert.equal(second.out!.resumedFrom, end);
    assert.equal(second.out!.imagesSampled, COUNT - end);
    assert.equal(second.out!.attempt, 2);
    assert.equal(imagesDone(shard.shardKey, 2), COUNT - end, 'the ledger agrees: only the remaining items');
    assert.equal(imagesDone(shard.shardKey), COUNT, 'no item sampled twice');
    assert.deepEqual(await fx.store.get(shard.shardKey), ref.bytes, 'final bytes equal the uninterrupted run');
    assert.equal(second.out!.sha256, ref.out.sha256);
    assert.deepEqual(await partsOf(shard.shardKey), []);
    assert.deepEqual(second.heartbeats[0], { imagesDone: end, of: COUNT, shard: shard.shardKey });
  });

  test('cancelled mid-chunk (worker shutdown), the sampled items are committed as a partial part and not redone', async () => {
    const ref = await referenceShard();
    const shard = input('mid-chunk');
    // Heartbeats: one at the start, one per item, one per committed part; the 15th falls inside the second chunk.
    const first = await runAttempt(shard, { attempt: 1 }, (_hb, n) => n === 15);
    assert.ok(first.error instanceof CancelledFailure);
    const parts = await partsOf(shard.shardKey);
    assert.equal(parts.length, 4, parts.join());
    const partial = parts.find((k) => k.endsWith('.part-000010.json'))!;
    const end = (JSON.parse(new TextDecoder().decode(await fx.store.get(partial))) as { end: number }).end;
    assert.ok(end > CHUNK && end < 2 * CHUNK, `partial part ends at ${end}`);
    assert.equal(imagesDone(shard.shardKey, 1), end);
    const second = await runAttempt(shard, { attempt: 2, heartbeatDetails: first.heartbeats.at(-1) });
    assert.ifError(second.error);
    assert.equal(second.out!.resumedFrom, end);
    assert.equal(imagesDone(shard.shardKey), COUNT, 'no item sampled twice');
    assert.deepEqual(await fx.store.get(shard.shardKey), ref.bytes);
  });

  test('cancelled again and again at arbitrary points: every item sampled exactly once, same bytes', async () => {
    const ref = await referenceShard();
    const shard = input('many-cancels');
    let attempt = 1;
    let details: unknown;
    let out: GenerateShardOutput | undefined;
    const cancelAt = [3, 9, 2, 14, 5, 30, 7];
    for (; !out; attempt++) {
      const n = cancelAt[attempt - 1];
      const run = await runAttempt(shard, { attempt, heartbeatDetails: details }, n === undefined ? undefined : (_hb, count) => count === n);
      if (run.out) out = run.out;
      else assert.ok(run.error instanceof CancelledFailure, String(run.error));
      details = run.heartbeats.at(-1);
      assert.ok(attempt < 20);
    }
    assert.ok(attempt > 3, 'several attempts were needed');
    assert.equal(imagesDone(shard.shardKey), COUNT);
    assert.deepEqual(await fx.store.get(shard.shardKey), ref.bytes);
    assert.deepEqual(await partsOf(shard.shardKey), []);
  });

  test('a crash (thrown storage error) mid-shard resumes from the listed parts even without heartbeat details', async () => {
    const ref = await referenceShard();
    const shard = input('crashed');
    let crashed = false;
    const crashing: BlobStore = {
      ...fx.store,
      root: fx.store.root,
      uri: (k) => fx.store.uri(k),
      keyOf: (u) => fx.store.keyOf(u),
      get: (k, o) => fx.store.get(k, o),
      head: (k) => fx.store.head(k),
      list: (p) => fx.store.list(p),
      delete: (k) => fx.store.delete(k),
      put: async (k, d): Promise<PutResult> => {
        if (!crashed && k.endsWith('.part-000030')) {
          crashed = true;
          throw new Error('disk on fire');
        }
        return fx.store.put(k, d);
      },
    };
    const acts = createGenerateActivities({ store: crashing, dataDir: join(process.cwd(), '.synthscale/data') });
    const first = await runAttempt(shard, { attempt: 1 }, undefined, acts);
    assert.match(String(first.error), /disk on fire/);
    assert.equal(imagesDone(shard.shardKey, 1), 4 * CHUNK, 'the fourth chunk was sampled but not committed');

    const second = await runAttempt(shard, { attempt: 2, heartbeatDetails: undefined }, undefined, acts);
    assert.ifError(second.error);
    assert.equal(second.out!.resumedFrom, 3 * CHUNK);
    assert.equal(imagesDone(shard.shardKey, 2), COUNT - 3 * CHUNK);
    assert.deepEqual(await fx.store.get(shard.shardKey), ref.bytes);
  });

  test('heartbeat details are untrusted: verified parts win over a heartbeat that claims more', async () => {
    const ref = await referenceShard();
    assert.equal(parseGenerateHeartbeat('junk', { shardKey: 'a', count: 5 }), null);
    assert.equal(parseGenerateHeartbeat({ imagesDone: 9, of: 5, shard: 'a' }, { shardKey: 'a', count: 5 }), null);
    assert.equal(parseGenerateHeartbeat({ imagesDone: 3, of: 5, shard: 'b' }, { shardKey: 'a', count: 5 }), null);
    assert.deepEqual(parseGenerateHeartbeat({ imagesDone: 3, of: 5, shard: 'a', x: 1 }, { shardKey: 'a', count: 5 }), { imagesDone: 3, of: 5, shard: 'a' });

    const shard = input('overclaim');
    const first = await runAttempt(shard, { attempt: 1 }, (hb) => hb.imagesDone >= 2 * CHUNK);
    assert.ok(first.error instanceof CancelledFailure);
    const end = await partsEnd(shard.shardKey);
    assert.ok(end >= 2 * CHUNK && end < 40);
    const second = await runAttempt(shard, { attempt: 2, heartbeatDetails: { imagesDone: 40, of: COUNT, shard: shard.shardKey } });
    assert.ifError(second.error);
    assert.equal(second.out!.resumedFrom, end);
    assert.deepEqual(await fx.store.get(shard.shardKey), ref.bytes);
  });

  test('a corrupted part is detected and regenerated from there', async () => {
    const ref = await referenceShard();
    const shard = input('corrupt-part');
    const first = await runAttempt(shard, { attempt: 1 }, (hb) => hb.imagesDone >= 2 * CHUNK);
    assert.ok(first.error instanceof CancelledFailure);
    await flipByte(`${shard.shardKey}.part-000010`);
    const second = await runAttempt(shard, { attempt: 2, heartbeatDetails: first.heartbeats.at(-1) });
    assert.ifError(second.error);
    assert.equal(second.out!.corruptRegenerated, true);
    assert.equal(second.out!.resumedFrom, CHUNK, 'the valid first part is kept');
    assert.equal(imagesDone(shard.shardKey, 2), COUNT - CHUNK);
    assert.deepEqual(await fx.store.get(shard.shardKey), ref.bytes);
    assert.deepEqual(await partsOf(shard.shardKey), []);
  });
});
