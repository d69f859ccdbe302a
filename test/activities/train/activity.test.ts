// The trainClassifier activity (MockActivityEnvironment, file store in a temp dir): a cell reads its
// window of each manifest (offset, size; a mix part's offset and count), records the items it used
// and its held-out examples in items.json and the fair recipe's outcome in train.json, and a
// finished cell is a cache hit. The model reads the manifest's geometry and predicts its classes.
// Run: node --import tsx --test test/activities/train/activity.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createTrainActivities, type TrainCellInput, type TrainCellOutput, type TrainRecord } from '../../../activities/train/activity.js';
import { TrainingSchema } from '../../../contracts/spec/sweep.js';
import type { CellItems } from '../../../core/nn/cell-record.js';
import { deserializeClassifier } from '../../../core/nn/classifier.js';
import { getJson, openStore, type BlobStore } from '../../../core/storage.js';
import { writeRgbSource, writeSource } from './source-fixture.js';

const silentLogger: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
let dir: string;
let store: BlobStore;
const uris: Record<string, string> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-train-activity-'));
  store = openStore(join(dir, 'store'));
  uris.pool = await writeSource(store, 'pool', 4);
  uris.mix = await writeSource(store, 'mixin', 2);
  uris.rgb = await writeRgbSource(store, 'rgb', 2, 12, ['red', 'green', 'blue', 'grey', 'cyan']);
});
after(() => rm(dir, { recursive: true, force: true }));

const recipe = { ...TrainingSchema.parse({ hidden: [8], epochs: 3, batchSize: 16, patience: 1 }), backend: 'wasm' as const };

function run(input: TrainCellInput): Promise<TrainCellOutput> {
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 120_000 }, { logger: silentLogger });
  return env.run(createTrainActivities({ store, dataDir: dir }).trainClassifier, input) as Promise<TrainCellOutput>;
}

test('a cell trains on its windows, records them in items.json, and is a cache hit the second time', async () => {
  const input: TrainCellInput = { manifestUri: uris.pool!, size: 50, offset: 45, seed: 3, recipe, mix: [{ manifestUri: uris.mix!, count: 20, offset: 10 }] };
  const out = await run(input);
  assert.equal(out.cached, false);
  const items = await getJson<CellItems>(store, `${out.cellPrefix}/items.json`);
  assert.deepEqual(items.parts, [
    { manifestUri: uris.pool, offset: 45, count: 50 },
    { manifestUri: uris.mix, offset: 10, count: 20 },
  ]);
  assert.equal(items.count, 70);
  assert.equal(items.validation.length, 7, 'round(70 x 0.1) held out');
  assert.ok(items.validation.every((i, k) => Number.isInteger(i) && i >= 0 && i < 70 && (k === 0 || i > items.validation[k - 1]!)));
  const record = await getJson<TrainRecord>(store, `${out.cellPrefix}/train.json`);
  assert.equal(record.trainCount, 63);
  assert.equal(record.validationCount, 7);
  assert.equal(record.plannedSteps, 3 * Math.ceil(63 / 16));
  assert.ok(record.bestEpoch >= 1 && record.bestEpoch <= record.stoppedEpoch && record.stoppedEpoch <= 3);
  assert.equal(typeof record.bestValidationLoss, 'number');
  assert.equal(record.steps, out.steps);

  const again = await run(input);
  assert.equal(again.cached, true);
  assert.equal(again.modelUri, out.modelUri);
  const fromStart = await run({ ...input, offset: 0 });
  assert.notEqual(fromStart.cellPrefix, out.cellPrefix, 'another window is another cell');
  await assert.rejects(run({ ...input, offset: 80 }), /has 120 samples, samples \[80, 130\) requested/);
});

test("a cell at the manifest's geometry and class count: a ResNet on 12x12 RGB images of 5 classes", async () => {
  const resnetRecipe = { ...TrainingSchema.parse({ model: 'resnet', resnet: { depth: 8, width: 4 }, epochs: 1, batchSize: 16 }), backend: 'wasm' as const };
  const out = await run({ manifestUri: uris.rgb!, size: 60, seed: 1, recipe: resnetRecipe });
  const model = deserializeClassifier(await store.get(store.keyOf(out.modelUri)));
  assert.deepEqual([model.arch, model.geometry, model.classes, model.resnet], ['resnet', { size: 12, channels: 3 }, 5, { depth: 8, width: 4 }]);
  assert.equal(model.state?.length, 14);
  await assert.rejects(run({ manifestUri: uris.rgb!, size: 30, seed: 1, recipe, mix: [{ manifestUri: uris.mix!, count: 10 }] }), /other classes|geometr/);
});
