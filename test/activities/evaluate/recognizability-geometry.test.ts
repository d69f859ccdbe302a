// The recognizability judge at another geometry: a judge trained on a dataset at 16x16 RGB labels
// a 16x16 RGB source (read at its manifest's geometry, with its classes), and the diversity
// reference is that dataset's test split at the same geometry (datasetFingerprint).
// Run: node --import tsx --test test/activities/evaluate/recognizability-geometry.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createRecognizabilityActivities, type RecognizabilityDocument, type RecognizabilityOutput } from '../../../activities/evaluate/recognizability-activity.js';
import { loadDatasetSplit, projectDataDir } from '../../../core/activity-deps.js';
import { DATASET_DESCRIPTOR_FORMAT, writeDescriptor } from '../../../core/datasets/descriptor.js';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';
import type { ImageGeometry } from '../../../core/image/geometry.js';
import { serializeClassifier, trainClassifier, type TrainingRecipe } from '../../../core/nn/classifier.js';
import { encodePng } from '../../../core/png.js';
import { geometryField, MANIFEST_FORMAT, writeManifest } from '../../../core/shards/manifest.js';
import { packShard, sampleKey } from '../../../core/shards/webdataset.js';
import { getJson, openStore, type BlobStore } from '../../../core/storage.js';

const CLASSES = [...FASHION_MNIST_CLASSES];
const RGB16: ImageGeometry = { size: 16, channels: 3 };
const FINGERPRINT = 'fmnist-rgb16-judge';
const silent: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

let dir: string;
let store: BlobStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-judge-geometry-'));
  store = openStore(join(dir, 'store'));
  await writeDescriptor(store, {
    format: DATASET_DESCRIPTOR_FORMAT,
    fingerprint: FINGERPRINT,
    title: 'Fashion-MNIST at 16x16x3',
    classes: CLASSES,
    geometry: RGB16,
    origin: { kind: 'builtin', dataset: 'fashion-mnist', nativeFingerprint: 'native', nativeGeometry: { size: 28, channels: 1 } },
    splits: { train: { count: 60000, classCounts: CLASSES.map(() => 6000) }, test: { count: 10000, classCounts: CLASSES.map(() => 1000) } },
  });
});
after(() => rm(dir, { recursive: true, force: true }));

test('a 16x16 RGB judge labels a 16x16 RGB source against the dataset\'s 16x16 RGB test split', async () => {
  const deps = { store, dataDir: projectDataDir() };
  const train = await loadDatasetSplit(deps, FINGERPRINT, 'train');
  const n = 3000;
  const recipe: TrainingRecipe = {
    model: 'mlp',
    hidden: [32],
    epochs: 3,
    minSteps: 0,
    batchSize: 64,
    checkpointEvery: 1000,
    shuffleWindow: 16384,
    learningRate: 2e-3,
    schedule: 'constant',
    weightDecay: 0,
    validationFraction: 0,
    patience: 0,
    backend: 'auto',
  };
  const judge = await trainClassifier({ images: train.images.subarray(n * 768, 2 * n * 768), labels: train.labels.subarray(n, 2 * n), count: n, geometry: RGB16, classCount: 10 }, recipe, { seed: 1 });
  const judgeUri = (await store.put('cells/judge/model.bin', serializeClassifier(judge.model))).uri;

  // "Generated" images: the first 200 training images, as a 16x16 RGB source.
  const count = 200;
  const samples = Array.from({ length: count }, (_, i) => ({
    key: sampleKey(i),
    png: encodePng(train.images.subarray(i * 768, (i + 1) * 768), RGB16),
    meta: { label: train.labels[i]!, className: CLASSES[train.labels[i]!]!, source: 'syn', index: i },
  }));
  const put = await store.put('sources/syn/shard-000000.tar', await packShard(samples));
  const manifestUri = await writeManifest(store, 'sources/syn/manifest.json', {
    format: MANIFEST_FORMAT,
    source: 'syn',
    kind: 'synthetic',
    description: 'd',
    classes: CLASSES,
    ...geometryField(RGB16),
    totalSamples: count,
    shards: [{ uri: put.uri, sha256: put.sha256, bytes: put.size, samples: count, firstIndex: 0, failedItems: [] }],
  });
  const activities = createRecognizabilityActivities(deps);
  const out = (await new MockActivityEnvironment({ heartbeatTimeoutMs: 120_000 }, { logger: silent }).run(activities.measureRecognizability, {
    judgeModelUri: judgeUri,
    judgeTestAccuracy: null,
    manifestUri,
    count,
    datasetFingerprint: FINGERPRINT,
  })) as RecognizabilityOutput;
  assert.ok(out.overall > 0.5, `recognizability ${out.overall} (chance 0.1)`);
  const doc = await getJson<RecognizabilityDocument>(store, store.keyOf(out.resultUri));
  assert.ok(doc.diversity, 'diversity against the 16x16 RGB test split');
  assert.ok(doc.diversity.recall > 0.3, `recall ${doc.diversity.recall}: real images look like the reference`);
});
