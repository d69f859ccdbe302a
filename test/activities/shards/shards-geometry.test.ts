// Sources of a dataset at 32x32 RGB (Fashion-MNIST brought to that geometry by its descriptor):
// real shards hold the dataset's images at its geometry with its classes, and say so in the
// manifest; a synthetic source's manifest records the dataset's geometry; the control source goes
// through a model fitted at that geometry; image-caption pairs (a lab's JPEGs, or the embedded
// pairs) are imported at it. 28x28 grey keeps its bytes (pinned from the code before geometries).
// Run: node --import tsx --test test/activities/shards/shards-geometry.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import sharp from 'sharp';
import { createShardActivities, type ManifestOutput, type RealShardsOutput } from '../../../activities/shards/activity.js';
import { createPairActivities, type EmbeddedPairsOutput, type ImportPairShardsOutput } from '../../../activities/shards/pairs-activity.js';
import { createGenerateActivities, type WriteControlShardsOutput } from '../../../activities/generate/activity.js';
import { generatorFitSet } from '../../../activities/generate/fit-set.js';
import { fitGmmGenerator } from '../../../activities/generate/gmm/fit.js';
import { serializeGmmModel } from '../../../activities/generate/gmm/model-format.js';
import { projectImage } from '../../../activities/generate/gmm/project.js';
import { loadDatasetSplit, projectDataDir } from '../../../core/activity-deps.js';
import { DATASET_DESCRIPTOR_FORMAT, writeDescriptor } from '../../../core/datasets/descriptor.js';
import { FASHION_MNIST_CLASSES, type ImageSet } from '../../../core/datasets/fashion-mnist.js';
import { realOrder } from '../../../core/datasets/real-draws.js';
import type { ImageGeometry } from '../../../core/image/geometry.js';
import { decodePng } from '../../../core/png.js';
import { readManifest } from '../../../core/shards/manifest.js';
import { packPairShard } from '../../../core/shards/pairs.js';
import { loadFirstSamples } from '../../../core/shards/stream.js';
import { unpackShard } from '../../../core/shards/webdataset.js';
import { openStore, type BlobStore } from '../../../core/storage.js';

const CLASSES = [...FASHION_MNIST_CLASSES];
const RGB32: ImageGeometry = { size: 32, channels: 3 };
const FINGERPRINT = 'fmnist-rgb32-test';
const silent: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const inActivity = <I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O> =>
  new MockActivityEnvironment({ heartbeatTimeoutMs: 120_000 }, { logger: silent }).run(fn, input) as Promise<O>;

let dir: string;
let store: BlobStore;
let deps: { store: BlobStore; dataDir: string };
let train: ImageSet;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-shards-geometry-'));
  store = openStore(join(dir, 'store'));
  deps = { store, dataDir: projectDataDir() };
  await writeDescriptor(store, {
    format: DATASET_DESCRIPTOR_FORMAT,
    fingerprint: FINGERPRINT,
    title: 'Fashion-MNIST at 32x32x3',
    classes: CLASSES,
    geometry: RGB32,
    origin: { kind: 'builtin', dataset: 'fashion-mnist', nativeFingerprint: 'native', nativeGeometry: { size: 28, channels: 1 } },
    splits: { train: { count: 60000, classCounts: CLASSES.map(() => 6000) }, test: { count: 10000, classCounts: CLASSES.map(() => 1000) } },
  });
  train = await loadDatasetSplit(deps, FINGERPRINT, 'train');
});
after(() => rm(dir, { recursive: true, force: true }));

test('real shards at 32x32 RGB: the dataset\'s images in the real order, a manifest with the geometry', async () => {
  assert.deepEqual(train.geometry, RGB32);
  const shards = createShardActivities(deps);
  const out = await inActivity<Parameters<typeof shards.writeRealShards>[0], RealShardsOutput>(shards.writeRealShards, {
    source: 'real',
    count: 30,
    shardSize: 16,
    seed: 2,
    datasetFingerprint: FINGERPRINT,
  });
  const manifest = await readManifest(store, out.manifestUri);
  assert.deepEqual(manifest.geometry, RGB32);
  assert.deepEqual(manifest.classes, CLASSES);
  assert.match(manifest.description, /real Fashion-MNIST at 32x32x3 training images/);
  const data = await loadFirstSamples(store, manifest, 30);
  const order = realOrder(train, FINGERPRINT, CLASSES.length, 2);
  for (let i = 0; i < 30; i++) {
    assert.deepEqual(data.images.subarray(i * 3072, (i + 1) * 3072), train.images.subarray(order[i]! * 3072, (order[i]! + 1) * 3072));
    assert.equal(data.labels[i], train.labels[order[i]!]);
  }
});

test('a synthetic source\'s manifest records its dataset\'s geometry (none without a dataset)', async () => {
  const shards = createShardActivities(deps);
  const base = { source: 'syn', kind: 'synthetic' as const, description: 'd', classes: CLASSES, shards: [], requiredSamples: 0 };
  const rgb = await inActivity<Parameters<typeof shards.writeSourceManifest>[0], ManifestOutput>(shards.writeSourceManifest, { ...base, manifestKey: 'syn/rgb.json', datasetFingerprint: FINGERPRINT });
  assert.deepEqual((await readManifest(store, rgb.manifestUri)).geometry, RGB32);
  const grey = await inActivity<Parameters<typeof shards.writeSourceManifest>[0], ManifestOutput>(shards.writeSourceManifest, { ...base, manifestKey: 'syn/grey.json' });
  assert.equal('geometry' in (await readManifest(store, grey.manifestUri)), false);
});

test('the control source at 32x32 RGB: the real draw through a 32x32 RGB model\'s PCA', async () => {
  const model = fitGmmGenerator(generatorFitSet(train, FINGERPRINT, 600), { pcaDims: 8, componentsPerClass: 1, fitSeed: 0 }, CLASSES);
  assert.deepEqual(model.geometry, RGB32);
  const modelUri = (await store.put('generators/rgb32/model.bin', serializeGmmModel(model))).uri;
  const generate = createGenerateActivities(deps);
  const out = await inActivity<Parameters<typeof generate.writeControlShards>[0], WriteControlShardsOutput>(generate.writeControlShards, {
    modelUri,
    count: 10,
    shardSize: 10,
    seed: 2,
    datasetFingerprint: FINGERPRINT,
  });
  const manifest = await readManifest(store, out.manifestUri);
  assert.deepEqual(manifest.geometry, RGB32);
  const data = await loadFirstSamples(store, manifest, 10);
  const order = realOrder(train, FINGERPRINT, CLASSES.length, 2);
  for (let i = 0; i < 10; i++) {
    assert.deepEqual(data.images.subarray(i * 3072, (i + 1) * 3072), projectImage(model, train.images.subarray(order[i]! * 3072, (order[i]! + 1) * 3072)));
  }
  // A model of another geometry is refused.
  const grey = fitGmmGenerator({ images: new Uint8Array(20 * 784).map((_, i) => i % 251), labels: Uint8Array.from({ length: 20 }, (_, i) => i % 10), count: 20 }, { pcaDims: 2, componentsPerClass: 1, fitSeed: 0 }, CLASSES);
  const greyUri = (await store.put('generators/grey/model.bin', serializeGmmModel(grey))).uri;
  await assert.rejects(
    inActivity(generate.writeControlShards, { modelUri: greyUri, count: 10, shardSize: 10, seed: 2, datasetFingerprint: FINGERPRINT }),
    /is a 28x28x1 model, the dataset is 32x32x3/,
  );
});

test('image-caption pairs are imported at 32x32 RGB: a lab\'s JPEGs (colour kept) and the embedded pairs', async () => {
  const raw = Buffer.alloc(48 * 48 * 3);
  for (let p = 0; p < 48 * 48; p++) raw.set([200, 40, 40], p * 3);
  const jpeg = new Uint8Array(await sharp(raw, { raw: { width: 48, height: 48, channels: 3 } }).jpeg({ quality: 95 }).toBuffer());
  const lab = await packPairShard([0, 1, 2].map((i) => ({ key: `00000000${i}`, image: jpeg, ext: 'jpg' as const, caption: 'a red coat', meta: {} })));
  const labKey = 'inputs/lab-000000.tar';
  await store.put(labKey, lab);
  const pairs = createPairActivities(deps);
  const input = { source: 'lab', field: 'sources.1.shards', shards: [store.uri(labKey)], count: 3, shardSize: 3, maxShardBytes: 1 << 24, classes: CLASSES, description: 'lab pairs' };
  const rgb = await inActivity<Parameters<typeof pairs.importPairShards>[0], ImportPairShardsOutput>(pairs.importPairShards, { ...input, datasetFingerprint: FINGERPRINT });
  const manifest = await readManifest(store, rgb.manifestUri);
  assert.deepEqual(manifest.geometry, RGB32);
  const samples = await unpackShard(await store.get(store.keyOf(manifest.shards[0]!.uri)), 'rgb', { maxSamples: 10, maxEntryBytes: 1 << 22 });
  const pixel = decodePng(samples[0]!.png, RGB32, 'lab').subarray(16 * 32 * 3 + 48, 16 * 32 * 3 + 51);
  assert.ok(pixel[0]! > 170 && pixel[1]! < 80 && pixel[2]! < 80, `red kept: ${[...pixel].join(', ')}`);
  assert.equal(samples[0]!.meta.caption, 'a red coat');
  // Without a dataset: 28x28 grey, under another key.
  const grey = await inActivity<Parameters<typeof pairs.importPairShards>[0], ImportPairShardsOutput>(pairs.importPairShards, input);
  assert.notEqual(grey.manifestUri, rgb.manifestUri);
  const greyManifest = await readManifest(store, grey.manifestUri);
  assert.equal('geometry' in greyManifest, false);

  // The embedded pairs at the dataset's geometry: the real order's images, captioned.
  const embedded = await inActivity<Parameters<typeof pairs.writeFashionMnistPairs>[0], EmbeddedPairsOutput>(pairs.writeFashionMnistPairs, {
    count: 8,
    shardSize: 8,
    seed: 2,
    datasetFingerprint: FINGERPRINT,
  });
  const imported = await inActivity<Parameters<typeof pairs.importPairShards>[0], ImportPairShardsOutput>(pairs.importPairShards, {
    ...input,
    source: 'pairs',
    shards: embedded.shardUris,
    count: 8,
    shardSize: 8,
    datasetFingerprint: FINGERPRINT,
  });
  const data = await loadFirstSamples(store, await readManifest(store, imported.manifestUri), 8);
  const order = realOrder(train, FINGERPRINT, CLASSES.length, 2);
  for (let i = 0; i < 8; i++) {
    assert.deepEqual(data.images.subarray(i * 3072, (i + 1) * 3072), train.images.subarray(order[i]! * 3072, (order[i]! + 1) * 3072), `pair ${i}`);
    assert.equal(data.labels[i], train.labels[order[i]!]);
  }
});

test('28x28 grey real shards: the bytes of before geometries', async () => {
  const shards = createShardActivities(deps);
  const out = await inActivity<Parameters<typeof shards.writeRealShards>[0], RealShardsOutput>(shards.writeRealShards, {
    source: 'real',
    count: 50,
    shardSize: 20,
    seed: 0,
    seeds: [0, 3],
    datasetFingerprint: 'bitsfingerprint',
  });
  const manifest = await readManifest(store, out.manifestUri);
  assert.equal('geometry' in manifest, false);
  assert.deepEqual(manifest.shards.map((s) => s.sha256), [
    'dc620806d5d67bcc4d6ff799c36d4c4bb4d474846938e026df98899464e7eff9',
    'ae10575b715f57229a2aa77f8952b29514f9cac62e8985937fc06f8882f794ee',
    'a9995eddeb55cd2506a8f0551686ff17b10b22a875520c3058f8d81844fb52a7',
  ]);
});
