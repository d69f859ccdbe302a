// The 'resnet' classifier (core/nn/models/resnet.ts, batch-norm.ts): the CIFAR ResNet-20's shapes
// and parameter count, He-normal init from the seeded rng, batch norm's closed-form gradient and
// running statistics (updated by training, used by inference), that it learns a small RGB problem
// held out, its formats, and exact resume (batch norm state and augmentation included) on wasm
// and, when installed, native TensorFlow.
// Run: node --import tsx --test test/core/nn/resnet.test.ts
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { BackendUnavailableError, initTfBackend, type Tf } from '../../../core/nn/backend.js';
import {
  decodeCheckpoint,
  deserializeClassifier,
  encodeCheckpoint,
  initialClassifier,
  modelShapes,
  serializeClassifier,
  specOf,
  stateShapes,
  trainClassifier,
  type Checkpoint,
  type SerializedClassifier,
  type TrainingRecipe,
} from '../../../core/nn/classifier.js';
import { evaluateClassifier, predictLogits } from '../../../core/nn/metrics.js';
import { batchNormTrain, BN_EPSILON } from '../../../core/nn/models/batch-norm.js';
import { classifierLogits } from '../../../core/nn/models/registry.js';
import { createRng } from '../../../core/rng.js';
import { rgbShapes } from './rgb-shapes.js';

let tf: Tf;
before(async () => {
  ({ tf } = await initTfBackend('wasm'));
});

const RGB = (size: number) => ({ size, channels: 3 as const });
const floats = (m: SerializedClassifier) => [...m.weights, ...(m.state ?? [])];

function recipe(overrides: Partial<TrainingRecipe>): TrainingRecipe {
  return {
    ...{ model: 'resnet', hidden: [], resnet: { depth: 8, width: 4 }, epochs: 1, minSteps: 0, batchSize: 20, learningRate: 0.003, checkpointEvery: 1000, shuffleWindow: 16384, backend: 'wasm' },
    ...{ schedule: 'cosine', weightDecay: 0.0001, validationFraction: 0, patience: 0 },
    ...overrides,
  } as TrainingRecipe;
}

function assertSameFloats(a: SerializedClassifier, b: SerializedClassifier, message: string) {
  const x = floats(a);
  const y = floats(b);
  assert.equal(x.length, y.length, message);
  x.forEach((w, i) => assert.ok(Buffer.from(w.buffer, w.byteOffset, w.byteLength).equals(Buffer.from(y[i]!.buffer, y[i]!.byteOffset, y[i]!.byteLength)), `${message}: array ${i} differs`));
}

describe('resnet architecture', () => {
  test('ResNet-20, width 16 at 32x32x3: 19 convolutions, 269,722 parameters (the paper\'s 0.27M), 64 features', () => {
    const model = initialClassifier([256], 'r20', 'resnet', { geometry: RGB(32), classes: 10 });
    assert.deepEqual(model.resnet, { depth: 20, width: 16 }, 'default depth and width');
    assert.deepEqual(model.hidden, [], 'hidden is ignored');
    const shapes = modelShapes('resnet', specOf(model));
    const kernels = shapes.filter((s) => s.length === 4);
    assert.equal(kernels.length, 19);
    assert.deepEqual(kernels[0], [3, 3, 3, 16]);
    assert.deepEqual(kernels.map((k) => k[3]), [16, ...Array(6).fill(16), ...Array(6).fill(32), ...Array(6).fill(64)]);
    assert.deepEqual(shapes.slice(-2), [[64, 10], [10]]);
    assert.equal(model.weights.reduce((n, w) => n + w.length, 0), 269_722);
    assert.equal(model.state!.reduce((n, s) => n + s.length, 0), 2 * (16 * 7 + 32 * 6 + 64 * 6));
    assert.deepEqual(stateShapes('resnet', specOf(model)).length, 38);
  });

  test('He-normal kernels from the seeded rng, unit batch norm, zero running mean and unit variance', () => {
    const a = initialClassifier([], 'init', 'resnet', { geometry: RGB(16), classes: 4 });
    assert.deepEqual(initialClassifier([], 'init', 'resnet', { geometry: RGB(16), classes: 4 }), a, 'deterministic');
    assert.notDeepEqual(initialClassifier([], 'other', 'resnet', { geometry: RGB(16), classes: 4 }).weights[3], a.weights[3]);
    const kernel = a.weights[3]!; // first block's first conv: 3x3x16x16, fan-in 144
    const std = Math.sqrt(kernel.reduce((s, v) => s + v * v, 0) / kernel.length);
    assert.ok(Math.abs(std - Math.sqrt(2 / 144)) < 0.05 * Math.sqrt(2 / 144), `std ${std}`);
    assert.ok(a.weights[1]!.every((g) => g === 1) && a.weights[2]!.every((b) => b === 0));
    assert.ok(a.state![0]!.every((m) => m === 0) && a.state![1]!.every((v) => v === 1));
  });

  test('depth must be 6n+2; the header rejects bad shapes', () => {
    assert.throws(() => initialClassifier([], 's', 'resnet', { resnet: { depth: 21, width: 16 } }), /6n\+2/);
    const bytes = serializeClassifier(initialClassifier([], 's', 'resnet', { geometry: RGB(12), classes: 3, resnet: { depth: 8, width: 4 } }));
    const back = deserializeClassifier(bytes);
    assert.deepEqual(back.geometry, RGB(12));
    assert.equal(back.classes, 3);
    assert.deepEqual(back.resnet, { depth: 8, width: 4 });
    assert.ok(Buffer.from(serializeClassifier(back)).equals(Buffer.from(bytes)));
    assert.throws(() => deserializeClassifier(bytes.subarray(0, bytes.length - 4)), /bytes, expected/);
  });
});

describe('batch norm', () => {
  test('closed-form gradient equals autodiff of the formula, on every backend', async () => {
    const rng = createRng('bn');
    const shape = [3, 5, 4, 6] as const;
    const x = Float32Array.from({ length: 3 * 5 * 4 * 6 }, () => 2 * rng.normal() + 1);
    const g = Float32Array.from({ length: 6 }, () => 1 + 0.3 * rng.normal());
    const b = Float32Array.from({ length: 6 }, () => rng.normal());
    const r = Float32Array.from({ length: x.length }, () => rng.normal());
    const run = (custom: boolean) =>
      tf.tidy(() => {
        const loss = (xx: Tensor, gg: Tensor, bb: Tensor) => {
          let y: Tensor;
          if (custom) y = batchNormTrain(xx as Tensor4D, gg, bb, tf.zeros([6]), tf.ones([6]), []);
          else {
            const { mean, variance } = tf.moments(xx, [0, 1, 2]);
            y = tf.add(tf.mul(tf.div(tf.sub(xx, mean), tf.sqrt(tf.add(variance, BN_EPSILON))), gg), bb);
          }
          return tf.sum(tf.mul(y, tf.tensor(r, [...shape])));
        };
        return tf.grads(loss)([tf.tensor(x, [...shape]), tf.tensor(g), tf.tensor(b)]).map((t) => Array.from(t.dataSync()));
      });
    const backends: string[] = ['cpu', 'wasm'];
    try {
      await initTfBackend('tensorflow');
      backends.push('tensorflow');
    } catch (err) {
      if (!(err instanceof BackendUnavailableError)) throw err;
    }
    await initTfBackend('cpu');
    const reference = run(false);
    try {
      for (const backend of backends) {
        await tf.setBackend(backend);
        const ours = run(true);
        reference.forEach((want, k) => {
          const scale = Math.max(...want.map(Math.abs));
          want.forEach((v, i) => assert.ok(Math.abs(v - ours[k]![i]!) <= 1e-4 * scale, `${backend} grad ${k}[${i}]: ${ours[k]![i]} vs ${v}`));
        });
      }
    } finally {
      await initTfBackend('wasm');
    }
  });

  test('training pushes the momentum update of the running statistics (unbiased batch variance)', () => {
    const rng = createRng('running');
    const x = Float32Array.from({ length: 2 * 3 * 3 * 2 }, () => rng.normal() * 3 + 2);
    const [mean, variance] = [0, 1].map((c) => {
      const values = Array.from({ length: x.length / 2 }, (_, i) => x[2 * i + c]!);
      const m = values.reduce((s, v) => s + v, 0) / values.length;
      return [m, values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1)] as const;
    }).reduce<[number[], number[]]>((acc, [m, v]) => [[...acc[0], m], [...acc[1], v]], [[], []]);
    const next: Tensor[] = [];
    tf.tidy(() => batchNormTrain(tf.tensor4d(x, [2, 3, 3, 2]), tf.ones([2]), tf.zeros([2]), tf.tensor1d([1, -1]), tf.tensor1d([2, 4]), next));
    const [m, v] = next.map((t) => Array.from(t.dataSync()));
    tf.dispose(next);
    [1, -1].forEach((m0, c) => assert.ok(Math.abs(m![c]! - (0.9 * m0 + 0.1 * mean[c]!)) < 1e-5));
    [2, 4].forEach((v0, c) => assert.ok(Math.abs(v![c]! - (0.9 * v0 + 0.1 * variance[c]!)) < 1e-4));
  });

  test('training updates the state; inference uses it, per example, and predictLogits folds it in', async () => {
    const data = rgbShapes(40, 'state', 12);
    const r = recipe({ batchSize: 40, minSteps: 3, augment: { crop: 0, flip: false } });
    const before = tf.memory().numTensors;
    const during: number[] = [];
    const trained = (await trainClassifier(data, r, { seed: 'state', yieldEveryMs: 0, onProgress: () => void during.push(tf.memory().numTensors) })).model;
    assert.equal(Math.min(...during), Math.max(...during), `tensor count varied across steps: ${during}`);
    assert.equal(tf.memory().numTensors, before, 'everything disposed at the end');
    const initial = initialClassifier([], 'state', 'resnet', { geometry: RGB(12), classes: 4, resnet: { depth: 8, width: 4 } });
    assert.ok(trained.state!.every((s, i) => s.some((v, j) => v !== initial.state![i]![j])), 'every running statistic moved');
    const spec = specOf(trained);
    const per = 12 * 12 * 3;
    const x = Float32Array.from(data.images.subarray(0, 8 * per), (v) => v / 255);
    const logits = (state: Float32Array[], rows: number, training: boolean) =>
      tf.tidy(() => {
        const w = trained.weights.map((v, i) => tf.tensor(v, modelShapes('resnet', spec)[i]));
        const s = state.map((v, i) => tf.tensor(v, stateShapes('resnet', spec)[i]));
        const mode = training ? { training: true as const, state: s, next: [] as Tensor[] } : { training: false as const, state: s };
        const out = Array.from(classifierLogits('resnet', tf.tensor2d(x.subarray(0, rows * per), [rows, per]), w, spec, mode).dataSync());
        if (mode.training) tf.dispose(mode.next);
        return out;
      });
    const alone = logits(trained.state!, 1, false);
    const batched = logits(trained.state!, 8, false);
    alone.forEach((v, i) => assert.ok(Math.abs(v - batched[i]!) < 1e-4, 'inference: an image scores alike alone and in a batch'));
    const trainAlone = logits(trained.state!, 2, true);
    const trainBatched = logits(trained.state!, 8, true);
    assert.ok(trainAlone.slice(0, 4).some((v, i) => Math.abs(v - trainBatched[i]!) > 1e-3), 'training mode: batch statistics');
    const shifted = logits(trained.state!.map((s, i) => (i % 2 === 0 ? s.map((v) => v + 0.5) : s)), 1, false);
    assert.ok(shifted.some((v, i) => Math.abs(v - alone[i]!) > 1e-3), 'the running statistics decide the inference output');
    const fused = await predictLogits(trained, data.images, 8, { backend: 'wasm' });
    batched.forEach((v, i) => assert.ok(Math.abs(v - fused[i]!) < 1e-3 * (1 + Math.abs(v)), `predictLogits logit ${i}: ${fused[i]} vs ${v}`));
  });
});

describe('resnet training', () => {
  test('learns coloured shapes at 16x16x3: held-out accuracy far above the 25% chance and the 50% of colour alone', async () => {
    const train = rgbShapes(1600, 'train');
    const held = rgbShapes(400, 'held-out');
    const started = performance.now();
    const result = await trainClassifier(train, recipe({ resnet: { depth: 8, width: 8 }, batchSize: 32, minSteps: 150 }), { seed: 1 });
    const seconds = (performance.now() - started) / 1000;
    const metrics = await evaluateClassifier(result.model, held, { backend: 'wasm' });
    console.log(`  [resnet-8 width 8, 16x16x3, ${result.steps} steps in ${seconds.toFixed(1)} s on ${tf.getBackend()}] held-out accuracy ${metrics.accuracy.toFixed(3)}, loss ${metrics.loss.toFixed(3)}`);
    assert.ok(metrics.accuracy > 0.9, `held-out accuracy ${metrics.accuracy}`);
    assert.ok(metrics.perClassAccuracy.every((a) => a > 0.75), `per class ${metrics.perClassAccuracy}`);
  });

  for (const backend of ['wasm', 'tensorflow'] as const) {
    test(`resuming reproduces the run bit for bit: weights, batch norm state, augmentation, early stopping (${backend})`, async (t) => {
      try {
        await initTfBackend(backend);
      } catch (err) {
        if (err instanceof BackendUnavailableError) return t.skip('no native TensorFlow binding');
        throw err;
      }
      t.after(() => initTfBackend('wasm'));
      const data = rgbShapes(200, 'resume', 12);
      // 180 train, 20 held out: 9 steps per epoch, 3 epochs; crop 4 + flip (the default).
      const r = recipe({ backend, epochs: 3, checkpointEvery: 5, validationFraction: 0.1 });
      const full: Checkpoint[] = [];
      const uninterrupted = await trainClassifier(data, r, { seed: 'resume', onCheckpoint: async (c) => void full.push(c) });
      assert.deepEqual(full.map((c) => c.step), [5, 10, 15, 20, 25, 27]);
      assert.ok(uninterrupted.bestEpoch > 0);
      for (const from of [full[1]!, full[3]!]) {
        const after: Checkpoint[] = [];
        const stored = { ...from, bytes: new Uint8Array(from.bytes) };
        const resumed = await trainClassifier(data, r, { seed: 'resume', resume: stored, onCheckpoint: async (c) => void after.push(c) });
        assert.equal(resumed.resumedFromStep, from.step);
        assertSameFloats(resumed.model, uninterrupted.model, `resumed from ${from.step}`);
        assert.equal(resumed.finalLoss, uninterrupted.finalLoss);
        after.forEach((c) => assert.ok(Buffer.from(c.bytes).equals(Buffer.from(full.find((f) => f.step === c.step)!.bytes)), `checkpoint ${c.step} differs`));
      }
      const state = decodeCheckpoint(full[2]!.bytes);
      assert.equal(state.model.state!.length, 14);
      assert.deepEqual(state.run.augment, { crop: 4, flip: true });
      assert.deepEqual(state.run.geometry, RGB(12));
      assert.ok(Buffer.from(encodeCheckpoint(state)).equals(Buffer.from(full[2]!.bytes)));
    });
  }
});
