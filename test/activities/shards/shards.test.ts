import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeGrayPng, encodeGrayPng } from '../../../core/png.js';
import {
  ChecksumMismatchError,
  getJson,
  hasValidObject,
  openStore,
  QUARANTINE_NOTE_SUFFIX,
  QUARANTINE_PREFIX,
  quarantineObject,
  sha256,
  type QuarantineNote,
} from '../../../core/storage.js';
import { packShard, sampleKey, unpackShard, type ShardSample } from '../../../core/shards/webdataset.js';
import { MANIFEST_FORMAT, type SourceManifest } from '../../../core/shards/manifest.js';
import { loadFirstSamples } from '../../../core/shards/stream.js';
import { MockActivityEnvironment } from '@temporalio/testing';
import { FASHION_MNIST_CLASSES, IMAGE_PIXELS, loadSplit, locateFashionMnist } from '../../../core/datasets/fashion-mnist.js';
import { realDraw } from '../../../core/datasets/real-draws.js';
import { readManifest } from '../../../core/shards/manifest.js';
import { balancedOrder, createShardActivities, type RealShardsOutput } from '../../../activities/shards/activity.js';

function sample(index: number): ShardSample {
  const pixels = new Uint8Array(784).map((_, i) => (i * 7 + index * 13) % 256);
  return { key: sampleKey(index), png: encodeGrayPng(pixels, 28, 28), meta: { label: index % 10, className: `c${index % 10}`, source: 's', index, prompt: `p${index}` } };
}

test('shards round-trip samples and are byte-reproducible whatever the input order', async () => {
  const samples = Array.from({ length: 25 }, (_, i) => sample(i));
  const bytes = await packShard(samples);
  assert.deepEqual(await packShard([...samples].reverse()), bytes, 'sorted entries + fixed mtime');
  const back = await unpackShard(bytes, 'mem://shard');
  assert.equal(back.length, 25);
  assert.deepEqual(back.map((s) => s.meta), samples.map((s) => s.meta));
  assert.deepEqual(decodeGrayPng(back[3]!.png, 28, 28, 'x'), decodeGrayPng(samples[3]!.png, 28, 28, 'y'));
});

test('malformed shards fail with the shard and key named', async () => {
  await assert.rejects(unpackShard(new Uint8Array(2048).fill(7), 'mem://junk'), /mem:\/\/junk/);
  const noJson = await packShard([sample(1)]);
  // Truncate after the first entry (the .json sorts before .png): the sample lacks its .png.
  await assert.rejects(unpackShard(noJson.subarray(0, 1024), 'mem://cut'), /mem:\/\/cut/);
  await assert.rejects(packShard([sample(1), sample(1)]), /duplicate sample key/);
  await assert.rejects(unpackShard(await packShard([sample(1)]), 'mem://small', { maxSamples: 10, maxEntryBytes: 10 }), /limit 10/);
});

test('file store: atomic puts, verified reads, corruption detected, unsafe keys refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synthscale-store-'));
  try {
    const store = openStore(dir);
    const put = await store.put('a/b.bin', new Uint8Array([1, 2, 3]));
    assert.equal(put.uri, `${store.root}/a/b.bin`);
    assert.deepEqual(await store.get('a/b.bin'), new Uint8Array([1, 2, 3]));
    assert.deepEqual(await store.list('a'), ['a/b.bin']);
    assert.equal(await hasValidObject(store, 'a/b.bin'), true);
    await assert.rejects(store.get('a/b.bin', { maxBytes: 1 }), /limit 1/);
    await writeFile(join(dir, 'a', 'b.bin'), new Uint8Array([9, 9, 9]));
    await assert.rejects(store.get('a/b.bin'), ChecksumMismatchError);
    const reasons: string[] = [];
    assert.equal(await hasValidObject(store, 'a/b.bin', (r) => reasons.push(r)), false);
    assert.match(reasons[0]!, /does not match/);
    assert.throws(() => store.uri('../escape'), /unsafe storage key/);
    assert.equal(openStore('gs://bucket/x').root, 'gs://bucket/x', 'gs:// roots open a GCS store');
    assert.throws(() => openStore('s3://bucket/x'), /unsupported scheme "s3:"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a corrupt object is quarantined with a note, and its key is free for the rebuild', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synthscale-quarantine-'));
  try {
    const store = openStore(dir);
    const good = new Uint8Array([1, 2, 3, 4]);
    const put = await store.put('cells/abc/model.bin', good);
    const bad = new Uint8Array([1, 2, 3, 5]);
    await writeFile(join(dir, 'cells', 'abc', 'model.bin'), bad);
    const reasons: string[] = [];
    const when = Date.now();
    assert.equal(await hasValidObject(store, 'cells/abc/model.bin', (r) => reasons.push(r)), false);
    assert.match(reasons[0]!, /does not match recorded .*; quarantined \(note quarantine\/\d{8}T\d{9}Z-cells_abc_model\.bin\.note\.json\)/);
    // The key is free: not listed, head null, and a rebuild commits normally.
    assert.equal(await store.head('cells/abc/model.bin'), null);
    assert.deepEqual(await store.list('cells'), []);
    const [badKey, noteKey] = await store.list(QUARANTINE_PREFIX);
    assert.match(badKey!, /^quarantine\/\d{8}T\d{9}Z-cells_abc_model\.bin$/);
    assert.equal(noteKey, `${badKey}${QUARANTINE_NOTE_SUFFIX}`);
    assert.deepEqual(await store.get(badKey!), bad, 'the bad bytes are kept, verifiable under their own checksum');
    const note = await getJson<QuarantineNote>(store, noteKey!);
    assert.deepEqual(
      { ...note, when: undefined },
      { key: 'cells/abc/model.bin', uri: `${store.root}/cells/abc/model.bin`, expectedSha256: put.sha256, actualSha256: sha256(bad), size: 4, when: undefined, reason: note.reason, quarantinedKey: badKey },
    );
    assert.ok(Math.abs(Date.parse(note.when) - when) < 60_000);
    await store.put('cells/abc/model.bin', good);
    assert.equal(await hasValidObject(store, 'cells/abc/model.bin'), true);
    // A second corruption of the same key in the same millisecond gets its own quarantine entry.
    await writeFile(join(dir, 'cells', 'abc', 'model.bin'), bad);
    const corruptErr = await store.get('cells/abc/model.bin').catch((err: unknown) => err);
    assert.ok(corruptErr instanceof ChecksumMismatchError && corruptErr.corrupt);
    const at = new Date(Date.parse(note.when));
    const again = await quarantineObject(store, corruptErr, 'cells/abc/model.bin', at);
    assert.equal(again, `${badKey}-2${QUARANTINE_NOTE_SUFFIX}`);
    assert.equal(await store.head('cells/abc/model.bin'), null);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('nested subsets: the first N samples come from the leading shards in order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synthscale-manifest-'));
  try {
    const store = openStore(dir);
    const shards = [];
    for (let s = 0; s < 3; s++) {
      const put = await store.put(`src/shard-${s}.tar`, await packShard(Array.from({ length: 10 }, (_, i) => sample(s * 10 + i))));
      shards.push({ uri: put.uri, sha256: put.sha256, bytes: put.size, samples: 10, firstIndex: s * 10, failedItems: [] });
    }
    const manifest: SourceManifest = { format: MANIFEST_FORMAT, source: 's', kind: 'synthetic', description: '', classes: Array.from({ length: 10 }, (_, i) => `c${i}`), totalSamples: 30, shards };
    const first = await loadFirstSamples(store, manifest, 25);
    assert.equal(first.count, 25);
    assert.deepEqual(Array.from(first.labels), Array.from({ length: 25 }, (_, i) => i % 10));
    await assert.rejects(loadFirstSamples(store, manifest, 31), /has 30 samples, 31 requested/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the real-data order is class-interleaved, so every prefix is balanced', () => {
  const labels = new Uint8Array(1000).map((_, i) => (i * 7) % 10);
  const order = balancedOrder(labels, 10, 0);
  assert.equal(new Set(order).size, 1000);
  const counts = new Array(10).fill(0);
  for (const i of order.slice(0, 100)) counts[labels[i]!]++;
  assert.deepEqual(counts, new Array(10).fill(10));
});

test("the real source: one manifest per seed, each that seed's draw from the real pool", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synthscale-real-'));
  try {
    const dataDir = join(process.cwd(), '.synthscale/data');
    const train = await loadSplit(await locateFashionMnist(dataDir), 'train');
    const store = openStore(dir);
    const shards = createShardActivities({ store, dataDir });
    const input = { source: 'real', count: 30, shardSize: 16, seed: 0, datasetFingerprint: 'real-shards-test' };
    const run = (extra: object) => new MockActivityEnvironment({}, { logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } }).run(shards.writeRealShards, { ...input, ...extra }) as Promise<RealShardsOutput>;
    const out = await run({ seeds: [2, 3] });
    assert.deepEqual(Object.keys(out.seedManifests!), ['2', '3']);
    assert.equal(out.manifestUri, out.seedManifests!['2']);
    assert.equal(out.totalSamples, 32);
    for (const seed of [2, 3]) {
      const first = await loadFirstSamples(store, await readManifest(store, out.seedManifests![String(seed)]!), 30);
      const rows = realDraw(train, input.datasetFingerprint, FASHION_MNIST_CLASSES.length, seed, 30);
      assert.deepEqual([...first.labels], rows.map((row) => train.labels[row]!));
      rows.forEach((row, i) =>
        assert.deepEqual([...first.images.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS)], [...train.images.subarray(row * IMAGE_PIXELS, (row + 1) * IMAGE_PIXELS)]),
      );
    }
    const initOnly = await run({ seed: 3 });
    assert.deepEqual(initOnly, { manifestUri: out.seedManifests!['3'], totalSamples: 32, failedItems: 0, cached: true }, 'no seeds: one draw, by the generation seed');
    await assert.rejects(run({ count: 30001 }), /real pool has 30000 images, 30001 requested/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
