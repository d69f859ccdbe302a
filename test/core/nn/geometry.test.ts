// mlp and cnn at any geometry and class count (the data says which), and the 28x28 grey models of
// before geometries unchanged: their headers, checkpoint fingerprints and bytes (pinned from the
// code before geometries existed) are what they were.
// Run: node --import tsx --test test/core/nn/geometry.test.ts
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { loadSplit, locateFashionMnist, type ImageSet } from '../../../core/datasets/fashion-mnist.js';
import { initTfBackend } from '../../../core/nn/backend.js';
import {
  decodeCheckpoint,
  deserializeClassifier,
  initialClassifier,
  serializeClassifier,
  trainClassifier,
  type Checkpoint,
  type TrainingRecipe,
} from '../../../core/nn/classifier.js';
import { predictFeatures } from '../../../core/nn/features.js';
import { evaluateClassifier, predictLogits } from '../../../core/nn/metrics.js';
import { rgbShapes } from './rgb-shapes.js';

let fashion: ImageSet;
before(async () => {
  await initTfBackend('wasm');
  fashion = await loadSplit(await locateFashionMnist(join(process.cwd(), '.synthscale/data')), 'train');
});

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);
const headerOf = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true))));

function recipe(overrides: Partial<TrainingRecipe>): TrainingRecipe {
  return {
    ...{ model: 'mlp', hidden: [16], epochs: 1, minSteps: 0, batchSize: 20, learningRate: 0.002, checkpointEvery: 1000, shuffleWindow: 16384, backend: 'wasm' },
    ...{ schedule: 'cosine', weightDecay: 0.0001, validationFraction: 0.1, patience: 3 },
    ...overrides,
  } as TrainingRecipe;
}

describe('mlp and cnn at 32x32x3 with 5 classes', () => {
  // Labels 0-3 of the shapes problem, read as a 5-class problem (class 4 has no examples).
  const data = { ...rgbShapes(120, 'geometry', 32), classCount: 5 };

  for (const arch of ['mlp', 'cnn'] as const) {
    test(`${arch}: trains, predicts 5 classes, records its geometry, resumes exactly`, async () => {
      const r = recipe({ model: arch, hidden: [12], epochs: 2, checkpointEvery: 5 }); // 108 train: 6 steps/epoch
      const checkpoints: Checkpoint[] = [];
      const result = await trainClassifier(data, r, { seed: arch, onCheckpoint: async (c) => void checkpoints.push(c) });
      const model = result.model;
      assert.deepEqual([model.arch, model.classes, model.inputSize, model.geometry], [arch, 5, 3072, { size: 32, channels: 3 }]);
      assert.deepEqual(model.weights[0]!.length, arch === 'mlp' ? 3072 * 12 : 3 * 3 * 3 * 16);
      if (arch === 'cnn') assert.equal(model.weights[4]!.length, 8 * 8 * 32 * 12);
      assert.equal(model.weights.at(-1)!.length, 5);
      const logits = await predictLogits(model, data.images, 7, { backend: 'wasm' });
      assert.equal(logits.length, 7 * 5);
      assert.equal((await predictFeatures(model, data.images, 3, { backend: 'wasm' })).dim, 12);
      const metrics = await evaluateClassifier(model, data, { backend: 'wasm' });
      assert.equal(metrics.confusion.length, 5);
      const bytes = serializeClassifier(model);
      assert.deepEqual(headerOf(bytes).geometry, { size: 32, channels: 3 });
      assert.deepEqual(deserializeClassifier(bytes), model);
      const state = decodeCheckpoint(checkpoints[0]!.bytes);
      assert.deepEqual([state.run.geometry, state.run.classes, state.run.augment], [{ size: 32, channels: 3 }, 5, undefined]);
      const resumed = await trainClassifier(data, r, { seed: arch, resume: checkpoints[1]! });
      assert.ok(Buffer.from(serializeClassifier(resumed.model)).equals(Buffer.from(bytes)), 'resumed run ends bit-identical');
      // The same examples read as 28x28 grey, or a checkpoint of this run for another class count: refused.
      await assert.rejects(evaluateClassifier(model, { ...fashion, count: 10 }), /28x28x1, the model reads 32x32x3/);
      await assert.rejects(trainClassifier({ ...data, classCount: 4 }, r, { seed: arch, resume: checkpoints[1]! }), /different run/);
    });
  }

  test('cnn at a side not divisible by 4 (30x30 grey): pools round up', async () => {
    const set = rgbShapes(40, 'odd', 30);
    const grey = new Uint8Array(40 * 900).map((_, i) => set.images[3 * i]!);
    const result = await trainClassifier({ images: grey, labels: set.labels, count: 40, geometry: { size: 30, channels: 1 }, classCount: 4 }, recipe({ model: 'cnn', hidden: [] }), { seed: 1 });
    assert.equal(result.model.weights[4]!.length, 8 * 8 * 32 * 4);
    assert.ok(Number.isFinite(result.finalLoss));
  });

  test('labels must be below the class count', async () => {
    await assert.rejects(trainClassifier({ ...data, classCount: 3 }, recipe({}), { seed: 1 }), /out of range \[0, 3\)/);
  });
});

describe('28x28 grey models are what they were before geometries', () => {
  test('headers and fingerprints carry no new fields; a header without a geometry reads as 28x28 grey', () => {
    const model = initialClassifier([8], 's', 'cnn');
    const header = headerOf(serializeClassifier(model));
    assert.deepEqual(Object.keys(header), ['format', 'arch', 'inputSize', 'classes', 'hidden', 'shapes', 'preprocessing']);
    assert.deepEqual(deserializeClassifier(serializeClassifier(model)).geometry, { size: 28, channels: 1 });
  });

  test('initial weights, trained models and checkpoints: the bytes pinned before geometries (wasm)', async () => {
    // Recorded with the code before geometries: mlp [64, 32] and cnn [16], 300 Fashion-MNIST
    // images, 2 epochs of batch 32, cosine, weight decay, early stopping. wasm computes alike on
    // every x86-64 machine (SIMD128, no relaxed SIMD); if this fails elsewhere, compare the
    // before/after run on that machine first.
    const pinned = {
      mlp: { init: 'a48eab61775ef49b', model: 'e67ba9ed52f316cd', checkpoints: '5:e9863ebbcbb45ce0 10:2f3dc8b75ab25dd3 15:26c6245d14f3df66 18:b86fc6852f8fb47e' },
      cnn: { init: '4c48e9b31af42b53', model: '21e88f260cb22227', checkpoints: '5:28b633b40ce8d842 10:ca60d89bc0ae1517 15:05194b5c60cb37ed 18:6dfb80fd82b3a36a' },
    };
    const data = { images: fashion.images.subarray(0, 300 * 784), labels: fashion.labels.subarray(0, 300), count: 300 };
    for (const [arch, hidden] of [['mlp', [64, 32]], ['cnn', [16]]] as const) {
      assert.equal(sha(serializeClassifier(initialClassifier(hidden, 'bit', arch))), pinned[arch].init, `${arch} init`);
      const r = recipe({ model: arch, hidden: [...hidden], epochs: 2, batchSize: 32, checkpointEvery: 5 });
      const checkpoints: Checkpoint[] = [];
      const result = await trainClassifier(data, r, { seed: 'bitcheck', onCheckpoint: async (c) => void checkpoints.push(c) });
      assert.equal(sha(serializeClassifier(result.model)), pinned[arch].model, `${arch} model`);
      assert.equal(checkpoints.map((c) => `${c.step}:${sha(c.bytes)}`).join(' '), pinned[arch].checkpoints, `${arch} checkpoints`);
    }
  });
});
