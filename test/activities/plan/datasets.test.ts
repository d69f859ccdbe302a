// The plan's datasets: a built-in dataset at its own geometry keeps its historic fingerprint and
// eval keys; at another geometry it gets a new fingerprint and a descriptor; the lab's datasets
// are asked for as imports (the sweep's first, then eval sets' with its classes); sizes must fit
// the real pool.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createPlanActivities } from '../../../activities/plan/activity.js';
import type { DatasetImportOutput } from '../../../contracts/datasets.js';
import { datasetFingerprint, loadDatasetSplit, projectDataDir, type ActivityDeps } from '../../../core/activity-deps.js';
import { DATASET_DESCRIPTOR_FORMAT, readDescriptor, writeDescriptor, type DatasetDescriptor } from '../../../core/datasets/descriptor.js';
import { openStore } from '../../../core/storage.js';

let dir: string;
let deps: ActivityDeps;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plan-datasets-'));
  deps = { store: openStore(join(dir, 'store')), dataDir: projectDataDir() };
});
after(() => rm(dir, { recursive: true, force: true }));

const base = { sweepId: 'p', sources: [{ name: 'real', kind: 'real' }], sizes: [100], seeds: [0] };

test('Fashion-MNIST at 28x28 grey: the historic fingerprint, no dataset on its eval sets', async () => {
  const plan = await createPlanActivities(deps).planSweep({ spec: { ...base, dataset: 'fashion-mnist' } });
  assert.equal(plan.datasetFingerprint, await datasetFingerprint(deps));
  assert.equal(plan.datasetRef, undefined);
  assert.deepEqual(plan.evalSets, [{ name: 'test', split: 'test' }]);
  assert.deepEqual(plan.dataset?.geometry, { size: 28, channels: 1 });
  assert.equal(plan.dataset?.splits.train?.count, 60000);
});

test('Fashion-MNIST at 32x32 RGB: a fingerprint of its own, named on eval sets, and its images resampled', async () => {
  const plan = await createPlanActivities(deps).planSweep({ spec: { ...base, dataset: 'fashion-mnist', image: { size: 32, channels: 3 }, ood: [{ suite: 'invert', severity: 1 }] } });
  assert.notEqual(plan.datasetFingerprint, await datasetFingerprint(deps));
  assert.equal(plan.datasetRef, plan.datasetFingerprint);
  assert.ok(plan.evalSets!.every((e) => e.dataset === plan.datasetFingerprint), JSON.stringify(plan.evalSets));
  const descriptor = await readDescriptor(deps.store, plan.datasetFingerprint);
  assert.deepEqual(descriptor?.geometry, { size: 32, channels: 3 });
  assert.deepEqual(plan.dataset?.nativeGeometry, { size: 28, channels: 1 });
  const test = await loadDatasetSplit(deps, plan.datasetFingerprint, 'test');
  assert.equal(test.images.length, 10000 * 32 * 32 * 3);
  // Grey replicated to RGB.
  const px = 32 * 16 * 3 + 16 * 3;
  assert.equal(test.images[px], test.images[px + 1]);
});

test('an image folder is imported first, then eval sets with its classes; sizes must fit its real pool', async () => {
  const activities = createPlanActivities(deps);
  const spec = {
    ...base,
    sizes: [100, 700],
    dataset: { kind: 'imagefolder', root: '/lab/a' },
    eval: [{ name: 'test' }, { name: 'shifted', split: 'test', dataset: { kind: 'imagefolder', root: '/lab/b' } }],
  };
  const first = await activities.planSweep({ spec });
  assert.deepEqual(first.imports?.map((i) => [i.role, i.splits, i.geometry, i.classes]), [['dataset', ['train', 'test'], { size: 32, channels: 3 }, undefined]]);

  const classes = ['cat', 'dog', 'fox'];
  const describe = async (fingerprint: string, splits: Record<string, number>): Promise<DatasetImportOutput> => {
    const descriptor: DatasetDescriptor = {
      format: DATASET_DESCRIPTOR_FORMAT,
      fingerprint,
      title: fingerprint,
      classes,
      geometry: { size: 32, channels: 3 },
      origin: { kind: 'imagefolder', uri: `file:///lab/${fingerprint}` },
      splits: Object.fromEntries(Object.entries(splits).map(([name, count]) => [name, { count, classCounts: [count, 0, 0], shards: [] }])),
    };
    // Shards are not read by the plan: counts only (the empty shard lists sum to 0, so keep counts 0 there).
    for (const s of Object.values(descriptor.splits)) s.shards = undefined;
    const descriptorUri = await writeDescriptor(deps.store, descriptor);
    return { fingerprint, descriptorUri, title: fingerprint, classes, geometry: descriptor.geometry, splits: {}, skipped: { count: 0, byReason: {}, examples: [] }, inputs: 0, seconds: 0, cached: false };
  };
  const main = await describe('lab-main-0001', { train: 1000, test: 300 });
  const second = await activities.planSweep({ spec, imported: { dataset: main } });
  assert.deepEqual(second.imports?.map((i) => [i.role, i.splits, i.classes]), [['eval.1.dataset', ['test'], classes]]);

  const shifted = await describe('lab-shifted-0001', { test: 300 });
  const failure = await activities.planSweep({ spec, imported: { dataset: main, 'eval.1.dataset': shifted } }).catch((err: unknown) => err);
  assert.ok(failure instanceof ApplicationFailure && /sizes: the largest N \(700\) exceeds the real pool .* \(500 images/.test(failure.message), String(failure));

  const plan = await activities.planSweep({ spec: { ...spec, sizes: [100, 500] }, imported: { dataset: main, 'eval.1.dataset': shifted } });
  assert.equal(plan.imports, undefined);
  assert.deepEqual(plan.classes, classes);
  assert.deepEqual(plan.evalSets, [
    { name: 'test', split: 'test', dataset: 'lab-main-0001' },
    { name: 'shifted', split: 'test', dataset: 'lab-shifted-0001' },
  ]);
  assert.equal(plan.evalDatasets?.['lab-shifted-0001']?.title, 'lab-shifted-0001');
});
