// The denoiser as a generation backend: a shard loads the stored model by URI and gets PNGs at the
// model's geometry, conditioned by the prompt; a model at another geometry than the sweep's is a
// non-retryable input error, and a damaged blob fails to load.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { decodePng } from '../../../../core/png.js';
import { openStore, type BlobStore } from '../../../../core/storage.js';
import { EMBEDDED_DENOISER_BACKEND, loadDenoiserModel } from '../../../../activities/generate/denoiser/backend.js';
import { DENOISER_CODE_VERSION } from '../../../../activities/generate/denoiser/model.js';
import { serializeDenoiserModel } from '../../../../activities/generate/denoiser/model-format.js';
import { sampleImage } from '../../../../activities/generate/denoiser/sampler.js';
import type { GenerateShardInput } from '../../../../activities/generate/io.js';
import { TOY_CLASSES, toyModel } from './fixture.js';

const GREY8 = { size: 8, channels: 1 } as const;

describe('embedded-denoiser backend', () => {
  let dir: string;
  let store: BlobStore;
  let modelUri: string;
  const model = toyModel(4);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'denoiser-backend-'));
    store = openStore(dir);
    modelUri = (await store.put('generators/denoiser-test/model.bin', serializeDenoiserModel(model))).uri;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const input = (uri: string): GenerateShardInput => ({
    source: 'synthetic',
    shardKey: 'shards/x.tar',
    modelUri: uri,
    promptsUri: 'unused',
    firstIndex: 0,
    count: 1,
    cfgScale: 2,
    steps: 10,
    generationSeed: 0,
    generatorLabel: 'embedded-denoiser@test',
    datasetFingerprint: 'test',
  });

  test('loads the model by URI and samples the prompt at its geometry', async () => {
    const shard = await EMBEDDED_DENOISER_BACKEND.load(undefined, input(modelUri), store, { geometry: GREY8 });
    assert.deepEqual(shard.classes, TOY_CLASSES);
    assert.deepEqual(shard.geometry, GREY8);
    assert.equal(shard.inProcess, true);
    const png = await shard.itemGenerator()({ index: 0, prompt: { index: 0, classIndex: 1, text: 'a square' }, seed: '0|0', cfgScale: 2, steps: 10 });
    const pixels = decodePng(png, GREY8, 'sample');
    assert.deepEqual(pixels, sampleImage(model, { classWeights: Float64Array.from([0, 1, 0]), attributes: null, cfgScale: 2, steps: 10, seed: '0|0' }));
    const other = await shard.itemGenerator()({ index: 0, prompt: { index: 0, classIndex: 2, text: 'a stripe' }, seed: '0|0', cfgScale: 2, steps: 10 });
    assert.notDeepEqual(other, png, 'the prompt conditions the image');
    assert.deepEqual(EMBEDDED_DENOISER_BACKEND.fingerprintInputs(undefined, { geometry: GREY8 }), { denoiserCode: DENOISER_CODE_VERSION });
  });

  test("a model at another geometry than the sweep's is a non-retryable input error", async () => {
    await assert.rejects(EMBEDDED_DENOISER_BACKEND.load(undefined, input(modelUri), store, { geometry: { size: 28, channels: 1 } }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /8x8x1/);
      return true;
    });
  });

  test('a damaged blob fails to load', async () => {
    const good = serializeDenoiserModel(model);
    const uri = (await store.put('generators/denoiser-bad/model.bin', good.subarray(0, good.length - 8))).uri;
    await assert.rejects(loadDenoiserModel(store, uri), /denoiser generator model/);
  });
});
