// Real draws: seed s's class-balanced order of the real pool, and its shards and manifests.
import { FASHION_MNIST_GEOMETRY } from '../../../core/image/geometry.js';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { IMAGE_PIXELS, type ImageSet } from '../../../core/datasets/fashion-mnist.js';
import { drawSeeds, realDraw, realOrder, writeDrawnShards, writeSeedManifests } from '../../../core/datasets/real-draws.js';
import { trainPools } from '../../../core/datasets/splits.js';
import { readManifest } from '../../../core/shards/manifest.js';
import { loadFirstSamples } from '../../../core/shards/stream.js';
import { openStore } from '../../../core/storage.js';

const labels = Uint8Array.from({ length: 2000 }, (_, i) => (i * 7 + (i >> 3)) % 10);
const train: ImageSet = { geometry: FASHION_MNIST_GEOMETRY, labels, count: labels.length, images: Uint8Array.from({ length: labels.length * IMAGE_PIXELS }, (_, i) => Math.floor(i / IMAGE_PIXELS) % 251) };

test("a seed's draw: real pool only, class-balanced prefixes, nested across N, its own per seed", () => {
  const real = new Set(trainPools('fp', train.count).realPool);
  const order = realOrder(train, 'fp', 10, 0);
  assert.equal(order.length, real.size);
  assert.ok(order.every((row) => real.has(row)), 'every drawn row is in the real pool');
  assert.equal(new Set(order).size, order.length);
  const counts = new Array(10).fill(0);
  for (const row of order.slice(0, 100)) counts[labels[row]!]++;
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `balanced prefix: ${counts}`);
  assert.deepEqual(realDraw(train, 'fp', 10, 0, 30), realDraw(train, 'fp', 10, 0, 300).slice(0, 30), 'nested across N');
  const seed1 = realDraw(train, 'fp', 10, 1, 300);
  assert.notDeepEqual(seed1, realDraw(train, 'fp', 10, 0, 300), 'seeds redraw');
  assert.throws(() => realDraw(train, 'fp', 10, 0, 1001), /real pool has 1000 images, 1001 requested/);
  assert.deepEqual(drawSeeds(undefined, 7), [7]);
  assert.deepEqual(drawSeeds([], 7), [7]);
  assert.deepEqual(drawSeeds([3, 1, 3], 7), [3, 1]);
});

test('drawn shards: one manifest per seed, the draw in order, reused when written', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synthscale-draws-'));
  try {
    const store = openStore(dir);
    let loads = 0;
    const write = (seed: number) =>
      writeDrawnShards({
        store,
        sourceKey: `src/seed-${seed}`,
        count: 25,
        shardSize: 10,
        manifest: { source: 'real', kind: 'real', description: 'test', classes: Array.from({ length: 10 }, (_, c) => `c${c}`) },
        load: async () => (loads++, { train, order: realOrder(train, 'fp', 10, seed) }),
        pixels: (image) => image.map((v) => 255 - v),
      });
    const out = await writeSeedManifests([4, 5], 0, write);
    assert.deepEqual(Object.keys(out.seedManifests!), ['4', '5']);
    assert.equal(out.manifestUri, out.seedManifests!['4']);
    assert.equal(out.totalSamples, 30, 'the last shard is full for a later, larger N');
    assert.equal(out.cached, false);
    for (const seed of [4, 5]) {
      const manifest = await readManifest(store, out.seedManifests![String(seed)]!);
      const first = await loadFirstSamples(store, manifest, 25);
      const rows = realDraw(train, 'fp', 10, seed, 25);
      assert.deepEqual([...first.labels], rows.map((row) => labels[row]!));
      assert.equal(first.images[3 * IMAGE_PIXELS], 255 - (rows[3]! % 251), 'pixels as transformed');
    }
    const again = await writeSeedManifests(undefined, 4, write);
    assert.deepEqual(again, { manifestUri: out.manifestUri, totalSamples: 30, cached: true }, 'seed 4 alone is the same draw');
    assert.equal(loads, 2, 'a stored manifest needs no images');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
