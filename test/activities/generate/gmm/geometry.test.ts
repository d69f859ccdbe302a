// The embedded generator at other geometries: fitted on 16x16 RGB images (Fashion-MNIST, each
// class in its own colour) it samples 16x16 RGB images of the prompted class, in that class's
// colour (a nearest-class-mean classifier on them beats chance by far); its model format records
// the geometry (none at 28x28 grey, so those models keep their bytes); the randomized PCA used
// above 1024 values per image finds the covariance's subspace; generateShard writes the model's
// geometry.
// Run: node --import tsx --test test/activities/generate/gmm/geometry.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { fitGmmGenerator } from '../../../../activities/generate/gmm/fit.js';
import type { GmmGeneratorModel } from '../../../../activities/generate/gmm/model.js';
import { deserializeGmmModel, serializeGmmModel } from '../../../../activities/generate/gmm/model-format.js';
import { fitPca, pcaMethodFor } from '../../../../activities/generate/gmm/pca.js';
import { sampleBatch } from '../../../../activities/generate/gmm/sampler.js';
import { createGenerateActivities, type GenerateShardOutput } from '../../../../activities/generate/activity.js';
import { synthesizePromptList } from '../../../../activities/prompts/strategies.js';
import { FASHION_MNIST_GEOMETRY, pixelsPerImage, type ImageGeometry } from '../../../../core/image/geometry.js';
import { resampleImages } from '../../../../core/image/resample.js';
import { decodePng } from '../../../../core/png.js';
import { unpackShard } from '../../../../core/shards/webdataset.js';
import { openStore } from '../../../../core/storage.js';
import type { ImageSet } from '../../../../core/datasets/image-set.js';
import { CLASSES, items, loadTrain, onehot } from './fixture.js';

const RGB16: ImageGeometry = { size: 16, channels: 3 };
const P16 = pixelsPerImage(RGB16);
/** A colour per class (RGB multipliers of the grey image), each with one brightest channel. */
const TINT: readonly (readonly [number, number, number])[] = [
  [1, 0.4, 0.4], [0.4, 1, 0.4], [0.4, 0.4, 1], [1, 0.7, 0.3], [0.3, 1, 0.7],
  [0.7, 0.3, 1], [1, 0.3, 0.7], [0.7, 1, 0.3], [0.3, 0.7, 1], [1, 0.55, 0.55],
];

let train: ImageSet;
let model: GmmGeneratorModel;
let classMeans: Float64Array[];

/** The first n training images at `geometry`, each tinted with its class's colour. */
function tinted(source: ImageSet, n: number, geometry: ImageGeometry): ImageSet {
  const images = resampleImages(source.images.subarray(0, n * 784), n, FASHION_MNIST_GEOMETRY, { size: geometry.size, channels: 3 });
  const pixels = geometry.size * geometry.size;
  for (let i = 0; i < n; i++) {
    const tint = TINT[source.labels[i]!]!;
    for (let p = 0; p < pixels; p++) for (let c = 0; c < 3; c++) images[(i * pixels + p) * 3 + c] = Math.round(images[(i * pixels + p) * 3 + c]! * tint[c]!);
  }
  return { images, labels: source.labels.subarray(0, n), count: n, geometry };
}

before(async () => {
  train = await loadTrain();
  const set = tinted(train, 3000, RGB16);
  model = fitGmmGenerator(set, { pcaDims: 24, componentsPerClass: 4, fitSeed: 1 }, CLASSES);
  classMeans = CLASSES.map(() => new Float64Array(P16));
  const counts = new Float64Array(CLASSES.length);
  for (let i = 0; i < set.count; i++) {
    const c = set.labels[i]!;
    counts[c]! += 1;
    for (let v = 0; v < P16; v++) classMeans[c]![v]! += set.images[i * P16 + v]!;
  }
  classMeans.forEach((m, c) => m.forEach((v, i) => (m[i] = v / counts[c]!)));
});

function nearestClassMean(images: Uint8Array, i: number): number {
  let best = -1;
  let bestDist = Infinity;
  classMeans.forEach((m, c) => {
    let s = 0;
    for (let v = 0; v < P16; v++) s += (images[i * P16 + v]! - m[v]!) ** 2;
    if (s < bestDist) [best, bestDist] = [c, s];
  });
  return best;
}

test('fitted at 16x16 RGB, it samples 16x16 RGB images a nearest-class-mean classifier tells apart', () => {
  assert.deepEqual(model.geometry, RGB16);
  assert.equal(model.pixels, 768);
  const perClass = 20;
  let correct = 0;
  for (let c = 0; c < CLASSES.length; c++) {
    const images = sampleBatch(model, items(onehot(c), 3, perClass, `rgb16|${c}`));
    assert.equal(images.length, perClass * P16);
    for (let i = 0; i < perClass; i++) if (nearestClassMean(images, i) === c) correct++;
    // The class's colour: its mean channel ratios follow the tint.
    const sums = [0, 1, 2].map((ch) => images.reduce((s, v, k) => (k % 3 === ch ? s + v : s), 0));
    const tint = TINT[c]!;
    const brightest = sums.indexOf(Math.max(...sums));
    assert.equal(brightest, tint.indexOf(Math.max(...tint)), `class ${c}: channel sums ${sums.join(', ')} vs tint ${tint.join(', ')}`);
  }
  const accuracy = correct / (perClass * CLASSES.length);
  assert.ok(accuracy > 0.7, `nearest-class-mean accuracy on generated images ${accuracy} (chance 0.1)`);
});

test('the model format records the geometry; 28x28 grey models keep their header (no geometry) and read as 28x28 grey', () => {
  const back = deserializeGmmModel(serializeGmmModel(model));
  assert.deepEqual(back.geometry, RGB16);
  assert.deepEqual(serializeGmmModel(back), serializeGmmModel(model));
  const header = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true)))) as Record<string, unknown>;
  assert.deepEqual(header(serializeGmmModel(model)).geometry, RGB16);
  const grey = fitGmmGenerator({ images: train.images.subarray(0, 500 * 784), labels: train.labels.subarray(0, 500), count: 500 }, { pcaDims: 4, componentsPerClass: 1, fitSeed: 0 }, CLASSES);
  assert.deepEqual(grey.geometry, FASHION_MNIST_GEOMETRY);
  const greyBytes = serializeGmmModel(grey);
  assert.equal('geometry' in header(greyBytes), false);
  assert.deepEqual(deserializeGmmModel(greyBytes).geometry, FASHION_MNIST_GEOMETRY);
  assert.throws(() => deserializeGmmModel(serializeGmmModel({ ...model, geometry: { size: 16, channels: 1 } })), /pixels is 768, expected 256 for 16x16x1/);
});

test('above 1024 values per image the PCA is randomized subspace iteration on the data; it finds the covariance subspace', () => {
  const g: ImageGeometry = { size: 20, channels: 3 };
  assert.equal(pcaMethodFor(pixelsPerImage(g)), 'randomized');
  assert.equal(pcaMethodFor(784), 'covariance');
  assert.equal(pcaMethodFor(1024), 'covariance');
  const set = tinted(train, 1500, g);
  const P = pixelsPerImage(g);
  const D = 12;
  const randomized = fitPca(set, P, D, 0, () => {}, 'randomized');
  const exact = fitPca(set, P, D, 0, () => {}, 'covariance');
  const share = (pca: typeof exact) => pca.explained / pca.totalVariance;
  assert.ok(Math.abs(randomized.totalVariance - exact.totalVariance) < 1e-6 * exact.totalVariance, 'same total variance');
  assert.ok(share(exact) - share(randomized) < 1e-4, `explained ${share(randomized)} vs ${share(exact)}`);
  for (let d = 0; d < D; d++) {
    assert.ok(Math.abs(randomized.eigenvalues[d]! - exact.eigenvalues[d]!) < 1e-3 * exact.eigenvalues[0]!, `eigenvalue ${d}`);
    // Each leading direction lies in the other's span (|cos| ~ 1 for well-separated eigenvalues).
    if (d < 6) {
      let dot = 0;
      for (let p = 0; p < P; p++) dot += randomized.basis[d * P + p]! * exact.basis[d * P + p]!;
      assert.ok(Math.abs(dot) > 0.99, `direction ${d}: |cos| ${Math.abs(dot)}`);
    }
  }
});

test('generateShard with a 16x16 RGB model writes 16x16 RGB PNGs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synthscale-gmm-geometry-'));
  try {
    const store = openStore(join(dir, 'store'));
    const modelUri = (await store.put('generators/rgb/model.bin', serializeGmmModel(model))).uri;
    const prompts = synthesizePromptList('classnames', CLASSES, 12, 0);
    const promptsUri = (await store.put('prompts/rgb.json', new TextEncoder().encode(JSON.stringify({ prompts })))).uri;
    const silent: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
    const activities = createGenerateActivities({ store, dataDir: join(process.cwd(), '.synthscale/data') });
    const input = { source: 's', shardKey: 'sources/rgb/shard-000000.tar', modelUri, promptsUri, firstIndex: 0, count: 12, cfgScale: 3, steps: 10, generationSeed: 1, generatorLabel: 'g', chunkSize: 5 };
    const out = (await new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 }, { logger: silent }).run(activities.generateShard, input)) as GenerateShardOutput;
    assert.equal(out.samples, 12);
    const samples = await unpackShard(await store.get('sources/rgb/shard-000000.tar'), 'rgb');
    for (const s of samples) assert.equal(decodePng(s.png, RGB16, s.key).length, 768);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
