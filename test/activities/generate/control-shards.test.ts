// The control source: per seed, the real source's very images, each projected onto the fitted
// generator's PCA basis and reconstructed, so its error is the PCA residual and nothing else.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { FASHION_MNIST_CLASSES, IMAGE_PIXELS, loadSplit, locateFashionMnist } from '../../../core/datasets/fashion-mnist.js';
import { readManifest } from '../../../core/shards/manifest.js';
import { loadFirstSamples } from '../../../core/shards/stream.js';
import { openStore, type BlobStore } from '../../../core/storage.js';
import { createGenerateActivities, type WriteControlShardsInput } from '../../../activities/generate/activity.js';
import { generatorFitSet } from '../../../activities/generate/fit-set.js';
import { fitGmmGenerator } from '../../../activities/generate/gmm/fit.js';
import { serializeGmmModel } from '../../../activities/generate/gmm/model-format.js';
import type { GmmGeneratorModel } from '../../../activities/generate/gmm/model.js';
import { projectImage } from '../../../activities/generate/gmm/project.js';
import { createShardActivities } from '../../../activities/shards/activity.js';

const silentLogger: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
/** One activity call in a mocked activity context (typed: MockActivityEnvironment.run cannot infer the output). */
const inActivity = <I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O> =>
  new MockActivityEnvironment({ heartbeatTimeoutMs: 60_000 }, { logger: silentLogger }).run(fn, input) as Promise<O>;
const dataDir = join(process.cwd(), '.synthscale/data');
const FINGERPRINT = 'control-test';
const COUNT = 40;
const P = IMAGE_PIXELS;

let dir: string;
let store: BlobStore;
let model: GmmGeneratorModel;
let input: WriteControlShardsInput;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-control-'));
  store = openStore(dir);
  const train = await loadSplit(await locateFashionMnist(dataDir), 'train');
  model = fitGmmGenerator(generatorFitSet(train, FINGERPRINT, 2000), { pcaDims: 12, componentsPerClass: 1, fitSeed: 0 }, FASHION_MNIST_CLASSES);
  const put = await store.put('generators/test/model.bin', serializeGmmModel(model));
  input = { modelUri: put.uri, count: COUNT, shardSize: 16, seed: 0, seeds: [0, 1], datasetFingerprint: FINGERPRINT };
});
after(() => rm(dir, { recursive: true, force: true }));

/**
 * The PCA residual ||x - mean||^2 - ||V (x - mean)||^2 (pixels scaled to [-1, 1]), the squared
 * error of the unrounded reconstruction mean + V^T V (x - mean), and the bytes' squared error where
 * that reconstruction needs no clipping, beside the same part of the reconstruction's error.
 */
function residuals(real: Uint8Array, control: Uint8Array) {
  const centered = Float64Array.from(real, (v, p) => v / 127.5 - 1 - model.mean[p]!);
  const recon = Float64Array.from(model.mean);
  let residual = centered.reduce((s, v) => s + v * v, 0);
  for (let d = 0; d < model.pcaDims; d++) {
    let z = 0;
    for (let p = 0; p < P; p++) z += model.basis[d * P + p]! * centered[p]!;
    residual -= z * z;
    for (let p = 0; p < P; p++) recon[p]! += model.basis[d * P + p]! * z;
  }
  let reconError = 0;
  let inRangeRecon = 0;
  let inRangeBytes = 0;
  for (let p = 0; p < P; p++) {
    const x = real[p]! / 127.5 - 1;
    reconError += (x - recon[p]!) ** 2;
    if (Math.abs(recon[p]!) > 1) {
      assert.equal(control[p], recon[p]! > 0 ? 255 : 0, 'clipped to the byte range');
      continue;
    }
    inRangeRecon += (x - recon[p]!) ** 2;
    inRangeBytes += (x - (control[p]! / 127.5 - 1)) ** 2;
  }
  return { residual, reconError, inRangeRecon, inRangeBytes };
}

test("each seed's control images are that seed's real images through the generator's PCA", async () => {
  const generate = createGenerateActivities({ store, dataDir });
  const shards = createShardActivities({ store, dataDir });
  const control = await inActivity(generate.writeControlShards, input);
  const real = await inActivity(shards.writeRealShards, { source: 'real', count: COUNT, shardSize: 16, seed: 0, seeds: [0, 1], datasetFingerprint: FINGERPRINT });
  assert.deepEqual(Object.keys(control.seedManifests!), ['0', '1']);
  assert.equal(control.manifestUri, control.seedManifests!['0']);
  assert.equal(control.totalSamples, 48, 'full shards, as the real source writes them');
  for (const seed of ['0', '1']) {
    const c = await loadFirstSamples(store, await readManifest(store, control.seedManifests![seed]!), COUNT);
    const r = await loadFirstSamples(store, await readManifest(store, real.seedManifests![seed]!), COUNT);
    assert.deepEqual(c.labels, r.labels, `seed ${seed}: the same draw as the real source`);
    for (let i = 0; i < COUNT; i++) {
      const x = r.images.subarray(i * P, (i + 1) * P);
      const y = c.images.subarray(i * P, (i + 1) * P);
      assert.deepEqual(y, projectImage(model, x));
      const { residual, reconError, inRangeRecon, inRangeBytes } = residuals(x, y);
      assert.ok(residual > 1, `a 12-dimensional basis leaves a real residual (${residual})`);
      assert.ok(Math.abs(reconError - residual) < 1e-6 * residual, `image ${i}: reconstruction error ${reconError}, PCA residual ${residual}`);
      // Rounding to bytes moves each pixel by at most 0.5 / 127.5.
      assert.ok(Math.abs(inRangeBytes - inRangeRecon) < 0.01 * inRangeRecon + 0.02, `image ${i}: ${inRangeBytes} vs ${inRangeRecon}`);
    }
  }
  const c0 = await loadFirstSamples(store, await readManifest(store, control.seedManifests!['0']!), COUNT);
  const c1 = await loadFirstSamples(store, await readManifest(store, control.seedManifests!['1']!), COUNT);
  assert.notDeepEqual(c0.images, c1.images, 'seeds redraw');
});

test('control shards are content-addressed by model and draw, and reused', async () => {
  const generate = createGenerateActivities({ store, dataDir });
  const first = await inActivity(generate.writeControlShards, input);
  assert.equal(first.cached, true);
  const single = await inActivity(generate.writeControlShards, { ...input, seeds: undefined, seed: 1 });
  assert.deepEqual(single, { manifestUri: first.seedManifests!['1'], totalSamples: 48, cached: true }, "seed 1 alone is seed 1's draw");
  const train = await loadSplit(await locateFashionMnist(dataDir), 'train');
  const weaker = fitGmmGenerator(generatorFitSet(train, FINGERPRINT, 2000), { pcaDims: 4, componentsPerClass: 1, fitSeed: 0 }, FASHION_MNIST_CLASSES);
  const put = await store.put('generators/weaker/model.bin', serializeGmmModel(weaker));
  const another = await inActivity(generate.writeControlShards, { ...input, modelUri: put.uri });
  assert.equal(another.cached, false);
  assert.notEqual(another.manifestUri, first.manifestUri, 'another model, other shards');
});
