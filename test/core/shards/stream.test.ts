// Training from shards with bounded memory: the windowed epoch order (core/nn/shuffle.ts), the
// shard stream (a cell's window of samples, from an offset) with its byte-bounded decoded-shard
// cache (core/shards/stream.ts), and training on a stream against the same examples in memory.
// Run: node --import tsx --test test/stream.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeGrayPng } from '../../../core/png.js';
import { createRng, permutation } from '../../../core/rng.js';
import { openStore, type BlobStore } from '../../../core/storage.js';
import { packShard, sampleKey } from '../../../core/shards/webdataset.js';
import { MANIFEST_FORMAT, type SourceManifest } from '../../../core/shards/manifest.js';
import { DecodedShardCache, loadFirstSamples, openFirstSamples, openSamples, shardCacheBudgetBytes } from '../../../core/shards/stream.js';
import { epochOrder } from '../../../core/nn/shuffle.js';
import { trainClassifier } from '../../../core/nn/classifier.js';
import type { TrainingRecipe } from '../../../contracts/spec/sweep.js';

describe('epochOrder', () => {
  test('data within the window gets the full permutation, whatever its segments', () => {
    const full = permutation(100, createRng('s|epoch|3'));
    assert.deepEqual(epochOrder('s', 3, 100, [40, 60], 100), full);
    assert.deepEqual(epochOrder('s', 3, 100, undefined, 10), full);
  });

  test('larger data: a permutation made of whole-segment windows of at most windowImages', () => {
    const segments = [30, 30, 30, 30, 30, 25, 5];
    const count = 180;
    const order = epochOrder(7, 0, count, segments, 64);
    assert.equal(new Set(order).size, count);
    assert.ok(order.every((i) => i < count));
    const segmentOf = (i: number) => {
      let start = 0;
      for (let s = 0; s < segments.length; s++) {
        if (i < start + segments[s]!) return s;
        start += segments[s]!;
      }
      throw new Error('out of range');
    };
    // Split the order into windows: a window ends where the next example's segment was not yet
    // seen and adding it would exceed 64; every window is a union of whole segments.
    let pos = 0;
    let windows = 0;
    while (pos < count) {
      const seen = new Set<number>();
      let size = 0;
      while (pos + size < count) {
        const s = segmentOf(order[pos + size]!);
        if (!seen.has(s)) {
          if (size > 0 && [...seen].reduce((a, x) => a + segments[x]!, 0) + segments[s]! > 64) break;
          seen.add(s);
        }
        size++;
      }
      assert.equal(size, [...seen].reduce((a, x) => a + segments[x]!, 0), `window ${windows} holds whole segments`);
      assert.ok(size <= 64 || seen.size === 1, `window ${windows} has ${size} examples`);
      pos += size;
      windows++;
    }
    assert.ok(windows >= 3, `${windows} windows`);
    // Deterministic in (seed, epoch); another epoch differs.
    assert.deepEqual(epochOrder(7, 0, count, segments, 64), order);
    assert.notDeepEqual(epochOrder(7, 1, count, segments, 64), order);
    assert.throws(() => epochOrder(7, 0, count, [30, 30], 64), /must be positive integers summing to 180/);
  });
});

function sample(index: number) {
  const pixels = new Uint8Array(784).map((_, i) => (i * 7 + index * 13) % 256);
  return { key: sampleKey(index), png: encodeGrayPng(pixels, 28, 28), meta: { label: index % 10, className: `c${index % 10}`, source: 's', index, prompt: `p${index}` } };
}

let dir: string;
let store: BlobStore;
let manifest: SourceManifest;
const SHARD = 40;
const SHARDS = 5;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-stream-'));
  store = openStore(dir);
  const shards = [];
  for (let s = 0; s < SHARDS; s++) {
    const put = await store.put(`src/shard-${s}.tar`, await packShard(Array.from({ length: SHARD }, (_, i) => sample(s * SHARD + i))));
    shards.push({ uri: put.uri, sha256: put.sha256, bytes: put.size, samples: SHARD, firstIndex: s * SHARD, failedItems: [] });
  }
  manifest = {
    format: MANIFEST_FORMAT,
    source: 's',
    kind: 'synthetic',
    description: '',
    classes: Array.from({ length: 10 }, (_, i) => `c${i}`),
    totalSamples: SHARD * SHARDS,
    shards,
  };
});
after(() => rm(dir, { recursive: true, force: true }));

describe('openFirstSamples', () => {
  test('gathers any examples of the first N, in the order asked', async () => {
    const stream = openFirstSamples(store, manifest, 130, new DecodedShardCache(1 << 20));
    assert.deepEqual(stream.segments, [40, 40, 40, 10]);
    const indices = [129, 0, 41, 77, 3];
    const images = new Uint8Array(indices.length * 784);
    const labels = new Uint8Array(indices.length);
    await stream.gather(indices, images, labels);
    const all = await loadFirstSamples(store, manifest, 130);
    indices.forEach((index, i) => {
      assert.equal(labels[i], index % 10);
      assert.deepEqual(images.subarray(i * 784, (i + 1) * 784), all.images.subarray(index * 784, (index + 1) * 784));
    });
    await assert.rejects(stream.gather([130], images, labels), /sample 130 is out of range \[0, 130\)/);
    assert.throws(() => openFirstSamples(store, manifest, 201), /has 200 samples, 201 requested/);
  });

  test('a window from an offset: example i is sample offset + i, its texts too; segments start mid-shard', async () => {
    const stream = openSamples(store, manifest, { offset: 55, count: 100 }, new DecodedShardCache(1 << 20));
    assert.deepEqual(stream.segments, [25, 40, 35]);
    const indices = [0, 99, 24, 25, 64, 65];
    const images = new Uint8Array(indices.length * 784);
    const labels = new Uint8Array(indices.length);
    await stream.gather(indices, images, labels);
    const all = await loadFirstSamples(store, manifest, 200);
    indices.forEach((index, i) => {
      assert.equal(labels[i], (55 + index) % 10);
      assert.deepEqual(images.subarray(i * 784, (i + 1) * 784), all.images.subarray((55 + index) * 784, (56 + index) * 784), `example ${index}`);
    });
    assert.deepEqual(await stream.gatherTexts(indices, (x) => `${x.prompt}@${x.index}`), indices.map((i) => `p${55 + i}@${55 + i}`));
    const loaded = await loadFirstSamples(store, manifest, 100, 55);
    assert.deepEqual(loaded.images, all.images.subarray(55 * 784, 155 * 784));
    // A window on a shard boundary, and one that ends exactly at the last sample.
    assert.deepEqual(openSamples(store, manifest, { offset: 80, count: 40 }).segments, [40]);
    assert.deepEqual(openSamples(store, manifest, { offset: 150, count: 50 }).segments, [10, 40]);
    assert.throws(() => openSamples(store, manifest, { offset: 150, count: 51 }), /has 200 samples, samples \[150, 201\) requested/);
    assert.throws(() => openSamples(store, manifest, { offset: -1, count: 5 }), /offset must be a non-negative integer/);
  });

  test('the decoded-shard cache stays within its byte budget and reloads what it evicted', async () => {
    const shardBytes = SHARD * 785;
    const cache = new DecodedShardCache(2 * shardBytes);
    const stream = openFirstSamples(store, manifest, 200, cache);
    const images = new Uint8Array(784);
    const labels = new Uint8Array(1);
    for (let s = 0; s < SHARDS; s++) {
      await stream.gather([s * SHARD], images, labels);
      await new Promise((r) => setImmediate(r));
      assert.ok(cache.bytes <= 2 * shardBytes, `after shard ${s}: ${cache.bytes} bytes cached`);
    }
    assert.equal(cache.loads, SHARDS);
    await stream.gather([SHARD * (SHARDS - 1)], images, labels); // still cached
    assert.equal(cache.loads, SHARDS);
    await stream.gather([0], images, labels); // evicted: decoded again
    assert.equal(cache.loads, SHARDS + 1);
    assert.equal(shardCacheBudgetBytes({ SYNTHSCALE_SHARD_CACHE_MB: '8' }), 8 * 2 ** 20);
    assert.throws(() => shardCacheBudgetBytes({ SYNTHSCALE_SHARD_CACHE_MB: 'lots' }), /SYNTHSCALE_SHARD_CACHE_MB must be a number/);
  });

  test('a corrupt image fails the gather naming the shard and the sample', async () => {
    const garbage = { ...sample(1), png: new Uint8Array(100).fill(7) };
    const put = await store.put('bad/shard-0.tar', await packShard([sample(0), garbage]));
    const badManifest: SourceManifest = {
      ...manifest,
      totalSamples: 2,
      shards: [{ uri: put.uri, sha256: put.sha256, bytes: put.size, samples: 2, firstIndex: 0, failedItems: [] }],
    };
    const stream = openFirstSamples(store, badManifest, 2, new DecodedShardCache(1 << 20));
    await assert.rejects(stream.gather([0, 1], new Uint8Array(2 * 784), new Uint8Array(2)), (err: Error) => {
      assert.match(err.message, /bad\/shard-0\.tar/);
      assert.match(err.message, new RegExp(sampleKey(1)));
      return true;
    });
  });
});

describe('training on a stream', () => {
  const recipe = (overrides: Partial<TrainingRecipe>): TrainingRecipe => ({
    model: 'mlp',
    hidden: [16],
    epochs: 2,
    minSteps: 0,
    batchSize: 32,
    learningRate: 0.01,
    schedule: 'constant',
    weightDecay: 0,
    validationFraction: 0,
    patience: 0,
    checkpointEvery: 1000,
    shuffleWindow: 16384,
    backend: 'wasm',
    ...overrides,
  });

  test('within the window: bit-identical to training on the same examples in memory', async () => {
    const inMemory = await loadFirstSamples(store, manifest, 150);
    const a = await trainClassifier(inMemory, recipe({}), { seed: 1 });
    const b = await trainClassifier(openFirstSamples(store, manifest, 150, new DecodedShardCache(1 << 20)), recipe({}), { seed: 1 });
    assert.equal(a.finalLoss, b.finalLoss);
    a.model.weights.forEach((w, i) => assert.deepEqual(b.model.weights[i], w, `weight ${i}`));
  });

  test('beyond the window: trains through a cache smaller than the data, deterministically', async () => {
    const r = recipe({ shuffleWindow: 80, epochs: 3 });
    const run = () => trainClassifier(openFirstSamples(store, manifest, 200, new DecodedShardCache(3 * SHARD * 785)), r, { seed: 2 });
    const [a, b] = [await run(), await run()];
    assert.ok(Number.isFinite(a.finalLoss));
    assert.equal(a.steps, 3 * Math.ceil(200 / 32));
    a.model.weights.forEach((w, i) => assert.deepEqual(b.model.weights[i], w, `weight ${i}`));
  });
});
