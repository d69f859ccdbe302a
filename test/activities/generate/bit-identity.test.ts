// 28x28 grey stays byte-identical through the geometry work: fitted models, sampled images, a
// generated shard (now assembled from its parts) and control shards hash as they did before
// images could have other geometries (sha256 pinned from that code).
// Run: node --import tsx --test test/activities/generate/bit-identity.test.ts
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createGenerateActivities, type GenerateShardOutput, type WriteControlShardsOutput } from '../../../activities/generate/activity.js';
import { generatorFitSet } from '../../../activities/generate/fit-set.js';
import { fitGmmGenerator } from '../../../activities/generate/gmm/fit.js';
import { serializeGmmModel } from '../../../activities/generate/gmm/model-format.js';
import { sampleBatch } from '../../../activities/generate/gmm/sampler.js';
import { synthesizePromptList } from '../../../activities/prompts/strategies.js';
import { FASHION_MNIST_CLASSES, loadSplit, locateFashionMnist, type ImageSet } from '../../../core/datasets/fashion-mnist.js';
import { encodePng } from '../../../core/png.js';
import { readManifest } from '../../../core/shards/manifest.js';
import { openStore, type BlobStore } from '../../../core/storage.js';
import { promptAttributes, promptToClassWeights } from '../../../core/text/text-condition.js';

const CLASSES = [...FASHION_MNIST_CLASSES];
const dataDir = join(process.cwd(), '.synthscale/data');
const silent: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const inActivity = <I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O> =>
  new MockActivityEnvironment({ heartbeatTimeoutMs: 60_000 }, { logger: silent }).run(fn, input) as Promise<O>;

let train: ImageSet;
let dir: string;
let store: BlobStore;

before(async () => {
  train = await loadSplit(await locateFashionMnist(dataDir), 'train');
  dir = await mkdtemp(join(tmpdir(), 'synthscale-bits-'));
  store = openStore(join(dir, 'store'));
});
after(() => rm(dir, { recursive: true, force: true }));

const fixtureModel = () =>
  fitGmmGenerator({ images: train.images.subarray(0, 6000 * 784), labels: train.labels.subarray(0, 6000), count: 6000, geometry: train.geometry }, { pcaDims: 24, componentsPerClass: 6, fitSeed: 1 }, CLASSES);

test('fitted models and their samples: the bytes of 28x28 grey before geometries', () => {
  assert.equal(sha(serializeGmmModel(fixtureModel())), '72c93a85f0e4af2e774e03d096553b12df5e0dfb8e84d0ecc73143b71da23c11');
  const model = fitGmmGenerator(generatorFitSet(train, 'bitsfingerprint', 10000), { pcaDims: 48, componentsPerClass: 12, fitSeed: 0 }, CLASSES);
  assert.equal(sha(serializeGmmModel(model)), 'c6ac103ce6cb1b16fc9d791eafb6ddcc10530dcc5f9b6dd6cddf73a1ad8d6345');
  const prompts = ['a photo of a trouser'];
  const items = prompts.flatMap((p, i) => [0, 1, 2].map((k) => ({ classWeights: promptToClassWeights(p, CLASSES), attributes: promptAttributes(p, CLASSES), cfgScale: 2, steps: 20, seed: `s|${i}|${k}` })));
  const pixels = sampleBatch(model, items);
  const pngs = items.map((_, i) => sha(encodePng(pixels.subarray(i * 784, (i + 1) * 784), model.geometry)));
  assert.deepEqual(pngs, [
    'cf3e278fe61595572337dab8c1e28896eeae0eb550cd3a69daac4a5b9b8db3db',
    '07f6015a0df4da1c9d53fd984c9a79b422fe9ac6f60d34044d4aec7820ba81d0',
    '5413e49fb610562eb69648775a16af40dcf29f15a4fa5b008ea4b4ab5b2542e2',
  ]);
});

test('a generated shard and control shards: the bytes of 28x28 grey before geometries', async () => {
  const modelUri = (await store.put('generators/bits/model.bin', serializeGmmModel(fixtureModel()))).uri;
  const prompts = synthesizePromptList('classnames', CLASSES, 80, 3);
  const promptsUri = (await store.put('prompts/bits.json', new TextEncoder().encode(JSON.stringify({ prompts })))).uri;
  const activities = createGenerateActivities({ store, dataDir });
  const shard = await inActivity<Parameters<typeof activities.generateShard>[0], GenerateShardOutput>(activities.generateShard, {
    source: 's',
    shardKey: 'src/shard-000000.tar',
    modelUri,
    promptsUri,
    firstIndex: 10,
    count: 60,
    cfgScale: 2,
    steps: 10,
    generationSeed: 7,
    generatorLabel: 'g',
    chunkSize: 25,
  });
  assert.equal(shard.sha256, '4f76d805ec348f61dc613b85a900be08abf598f497440b590e4fa7549b687c99');
  const control = await inActivity<Parameters<typeof activities.writeControlShards>[0], WriteControlShardsOutput>(activities.writeControlShards, {
    modelUri,
    count: 30,
    shardSize: 16,
    seed: 0,
    datasetFingerprint: 'bitsfingerprint',
  });
  const manifest = await readManifest(store, control.manifestUri);
  assert.equal('geometry' in manifest, false);
  assert.deepEqual(manifest.shards.map((s) => s.sha256), [
    '243c42fddb0cfc577838c6a820aa74576ec8b93e66ffc8181483eb113621c64c',
    'f516b5b7117f367965ec8849d59e0faab612acb002df3e1cd1fc7e7e2ff1c9fe',
  ]);
});
