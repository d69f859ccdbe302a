// The trainClipCell activity (MockActivityEnvironment, file store in a temp dir): a CLIP cell reads
// its window of each manifest (offset, size; a mix part's offset and count), records the items it
// used and its held-out pairs in items.json and the fair recipe's outcome in train.json; its image
// tower reads the manifest's geometry.
// Run: node --import tsx --test test/activities/clip/activity.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createClipActivities, type ClipCellInput, type ClipCellOutput, type ClipTrainRecord } from '../../../activities/clip/activity.js';
import { ClipTrainingSchema } from '../../../contracts/spec/clip.js';
import type { CellItems } from '../../../core/nn/cell-record.js';
import { getJson, openStore, type BlobStore } from '../../../core/storage.js';
import { deserializeClip } from '../../../activities/clip/checkpoint.js';
import { writeRgbSource, writeSource } from '../train/source-fixture.js';

const silentLogger: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
let dir: string;
let store: BlobStore;
let pool: string;
let mixin: string;
let rgb: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-clip-activity-'));
  store = openStore(join(dir, 'store'));
  pool = await writeSource(store, 'pool', 3);
  mixin = await writeSource(store, 'mixin', 1);
  rgb = await writeRgbSource(store, 'rgb', 1, 12, ['red', 'green', 'blue']);
});
after(() => rm(dir, { recursive: true, force: true }));

test('a CLIP cell trains on its windows with the fair recipe and records them in items.json', async () => {
  const recipe = ClipTrainingSchema.parse({ hidden: [8], embedDim: 4, tokenWidth: 4, maxTokens: 8, epochs: 2, minSteps: 0, batchSize: 16, backend: 'wasm' });
  const input: ClipCellInput = { manifestUri: pool, size: 40, offset: 35, seed: 2, recipe, captionSeed: 0, mix: [{ manifestUri: mixin, count: 10, offset: 5 }] };
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 120_000 }, { logger: silentLogger });
  const out = (await env.run(createClipActivities({ store, dataDir: dir }).trainClipCell, input)) as ClipCellOutput;
  assert.equal(out.cached, false);
  const items = await getJson<CellItems>(store, `${out.cellPrefix}/items.json`);
  assert.deepEqual(items.parts, [
    { manifestUri: pool, offset: 35, count: 40 },
    { manifestUri: mixin, offset: 5, count: 10 },
  ]);
  assert.equal(items.validation.length, 5, "round(50 x 0.1): the classifier recipe's default fraction");
  const record = await getJson<ClipTrainRecord>(store, `${out.cellPrefix}/train.json`);
  assert.equal(record.trainCount, 45);
  assert.equal(record.plannedSteps, 2 * Math.ceil(45 / 16));
  assert.ok(record.bestEpoch >= 1 && typeof record.bestValidationLoss === 'number');
});

test("a CLIP cell's image tower reads the manifest's geometry", async () => {
  const recipe = ClipTrainingSchema.parse({ arch: 'cnn', hidden: [8], embedDim: 4, tokenWidth: 4, maxTokens: 8, epochs: 1, minSteps: 0, batchSize: 16, backend: 'wasm' });
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 120_000 }, { logger: silentLogger });
  const out = (await env.run(createClipActivities({ store, dataDir: dir }).trainClipCell, { manifestUri: rgb, size: 30, seed: 1, recipe, captionSeed: 0 })) as ClipCellOutput;
  const model = deserializeClip(await store.get(store.keyOf(out.modelUri)));
  assert.deepEqual(model.config.geometry, { size: 12, channels: 3 });
  assert.equal(model.weights[0]!.length, 3 * 3 * 3 * 16);
});
