// The embedded generator's real-data budget: it fits on the head of the generator pool only, so
// no image a real (or control, or mixed) source can draw is ever among the images it saw.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { FASHION_MNIST_CLASSES, loadSplit, locateFashionMnist } from '../../../core/datasets/fashion-mnist.js';
import { realOrder } from '../../../core/datasets/real-draws.js';
import { trainPools } from '../../../core/datasets/splits.js';
import { openStore } from '../../../core/storage.js';
import { createGenerateActivities } from '../../../activities/generate/activity.js';
import { generatorFitRows, generatorFitSet } from '../../../activities/generate/fit-set.js';
import { fitGmmGenerator } from '../../../activities/generate/gmm/fit.js';
import { deserializeGmmModel, serializeGmmModel } from '../../../activities/generate/gmm/model-format.js';
import type { FitGeneratorOutput } from '../../../activities/generate/io.js';

const silentLogger: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const dataDir = join(process.cwd(), '.synthscale/data');
const FINGERPRINT = 'fit-generator-test';

test('no index a real source can draw is among the images a generator fits on, at any fitImages', () => {
  const trainCount = 60000;
  const labels = Uint8Array.from({ length: trainCount }, (_, i) => i % 10);
  const fitted = new Set(generatorFitRows(FINGERPRINT, trainCount, 30000));
  assert.equal(fitted.size, 30000, 'the largest budget the spec allows: the whole generator pool');
  const drawable = new Set(trainPools(FINGERPRINT, trainCount).realPool);
  for (const seed of [0, 1, 2, 17]) for (const row of realOrder({ labels, count: trainCount }, FINGERPRINT, 10, seed)) drawable.add(row);
  assert.equal(drawable.size, 30000, 'every seed draws from the same real pool');
  for (const row of drawable) assert.ok(!fitted.has(row), `row ${row} is both fitted on and drawable`);
  assert.deepEqual([...generatorFitRows(FINGERPRINT, trainCount, 1000)], [...fitted].slice(0, 1000), 'a smaller budget is a prefix');
  assert.throws(() => generatorFitRows(FINGERPRINT, trainCount, 30001), /1\.\.30000/);
});

test('fitGenerator fits on exactly those rows and reports how many real images it saw', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synthscale-fit-'));
  try {
    const train = await loadSplit(await locateFashionMnist(dataDir), 'train');
    const store = openStore(dir);
    const activities = createGenerateActivities({ store, dataDir });
    const generator = { name: 'embedded-gmm', pcaDims: 6, componentsPerClass: 1, steps: 10, fitSeed: 3, fitImages: 400 } as const;
    const input = { generator, classes: [...FASHION_MNIST_CLASSES], datasetFingerprint: FINGERPRINT };
    const run = () => new MockActivityEnvironment({ heartbeatTimeoutMs: 60_000 }, { logger: silentLogger }).run(activities.fitGenerator, input) as Promise<FitGeneratorOutput>;
    const out = await run();
    assert.equal(out.realImages, 400);
    assert.equal(out.cached, false);
    const stored = await store.get(store.keyOf(out.modelUri));
    assert.equal(deserializeGmmModel(stored).trainCount, 400);
    const expected = fitGmmGenerator(generatorFitSet(train, FINGERPRINT, 400), generator, FASHION_MNIST_CLASSES);
    assert.deepEqual(stored, serializeGmmModel(expected), 'the model is the fit of the generator-pool rows, nothing else');
    const again = await run();
    assert.deepEqual({ ...again, seconds: 0 }, { modelUri: out.modelUri, realImages: 400, cached: true, seconds: 0 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
