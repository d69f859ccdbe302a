// The 'cnn' classifier (conv16-pool-conv32-pool-dense): trains on wasm through the Conv2D gradient
// override (wasm has no Conv2DBackpropFilter kernel), resumes bit-exactly, evaluates with the same
// function it trained, and its serialized form is validated against the architecture.
// Run: node --import tsx --test test/cnn.test.ts
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { loadSplit, locateFashionMnist, type ImageSet } from '../../../core/datasets/fashion-mnist.js';
import { TrainingSchema, type TrainingRecipe } from '../../../contracts/spec/sweep.js';
import { NO_EARLY_STOPPING } from '../../../core/nn/container.js';
import {
  conv2dFilterGradIm2col,
  initTfBackend,
  installWasmConv2DGradient,
  stockConv2DGradient,
  wasmConv2DGradientInstalled,
  type Tf,
} from '../../../core/nn/backend.js';
import {
  CheckpointMismatchError,
  classifierLogits,
  CNN_FEATURES,
  CorruptModelError,
  decodeCheckpoint,
  deserializeClassifier,
  encodeCheckpoint,
  initialClassifier,
  modelShapes,
  preprocess,
  serializeClassifier,
  toLayersModel,
  trainClassifier,
  type Checkpoint,
  type SerializedClassifier,
} from '../../../core/nn/classifier.js';
import { evaluateClassifier, predictLogits } from '../../../core/nn/metrics.js';

let tf: Tf;
let train: ImageSet;
let testSet: ImageSet;

before(async () => {
  ({ tf } = await initTfBackend('wasm'));
  const dir = await locateFashionMnist(join(process.cwd(), '.synthscale/data'));
  [train, testSet] = await Promise.all([loadSplit(dir, 'train'), loadSplit(dir, 'test')]);
});

const subset = (set: ImageSet, count: number): ImageSet => ({ images: set.images.subarray(0, count * 784), labels: set.labels.subarray(0, count), count, geometry: set.geometry });

function recipe(overrides: Partial<TrainingRecipe>): TrainingRecipe {
  return {
    ...{ model: 'cnn', hidden: [16], epochs: 1, minSteps: 0, batchSize: 20, learningRate: 0.001, checkpointEvery: 1000, shuffleWindow: 16384, backend: 'wasm' },
    ...{ schedule: 'constant', weightDecay: 0, validationFraction: 0, patience: 0 },
    ...overrides,
  };
}

function assertSameWeights(a: SerializedClassifier, b: SerializedClassifier, message: string) {
  assert.equal(a.arch, b.arch);
  assert.equal(a.weights.length, b.weights.length);
  a.weights.forEach((w, i) => {
    const x = Buffer.from(w.buffer, w.byteOffset, w.byteLength);
    const y = Buffer.from(b.weights[i]!.buffer, b.weights[i]!.byteOffset, b.weights[i]!.byteLength);
    assert.ok(x.equals(y), `${message}: weight ${i} differs`);
  });
}

describe('cnn architecture', () => {
  test("spec accepts model 'cnn' and keeps 'mlp' the default", () => {
    assert.equal(TrainingSchema.parse({}).model, 'mlp');
    assert.equal(TrainingSchema.parse({ model: 'cnn' }).model, 'cnn');
    assert.throws(() => TrainingSchema.parse({ model: 'rnn' }));
  });

  test('weight shapes: two 3x3 conv layers, then dense layers over the 7x7x32 features', () => {
    assert.equal(CNN_FEATURES, 7 * 7 * 32);
    assert.deepEqual(modelShapes('cnn', [64]), [[3, 3, 1, 16], [16], [3, 3, 16, 32], [32], [1568, 64], [64], [64, 10], [10]]);
    const model = initialClassifier([64], 'x', 'cnn');
    assert.equal(model.arch, 'cnn');
    // Glorot-uniform conv kernels: limit sqrt(6 / (9 * (1 + 16))) for the first.
    const limit = Math.sqrt(6 / (9 * 17));
    assert.ok(model.weights[0]!.every((w) => Math.abs(w) <= limit));
    assert.ok(Math.max(...model.weights[0]!.map(Math.abs)) > 0.8 * limit);
    assert.ok(model.weights[1]!.every((w) => w === 0));
    // The mlp's initialization is unchanged by the arch parameter.
    assert.deepEqual(initialClassifier([8], 's'), initialClassifier([8], 's', 'mlp'));
    assert.throws(() => toLayersModel(model), /MLPs only/);
  });
});

describe('wasm Conv2D gradient override', () => {
  test('is installed on wasm, and with force equals the stock gradient on cpu (strides, paddings)', async () => {
    assert.ok(wasmConv2DGradientInstalled());
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined, 'wasm gained the kernel: the override may be unnecessary');
    await initTfBackend('cpu');
    try {
      const cases: { x: [number, number, number, number]; f: [number, number, number, number]; strides: number | [number, number]; pad: 'same' | 'valid' | number | [number, number][] }[] = [
        { x: [2, 7, 6, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
        { x: [2, 7, 6, 3], f: [3, 2, 3, 4], strides: [2, 3], pad: 'valid' },
        { x: [2, 8, 7, 1], f: [3, 3, 1, 2], strides: 2, pad: 'same' },
        { x: [1, 6, 6, 2], f: [2, 2, 2, 3], strides: 1, pad: 1 },
        { x: [1, 6, 6, 2], f: [3, 3, 2, 3], strides: 1, pad: [[0, 0], [2, 0], [0, 1], [0, 0]] },
      ];
      for (const [i, c] of cases.entries()) {
        const x = tf.randomNormal(c.x, 0, 1, 'float32', 40 + i) as Tensor4D;
        const f = tf.randomNormal(c.f, 0, 1, 'float32', 50 + i) as Tensor4D;
        const forward = (a: Tensor, b: Tensor) => tf.conv2d(a as Tensor4D, b as Tensor4D, c.strides, c.pad as 'same');
        const r = tf.randomNormal(forward(x, f).shape, 0, 1, 'float32', 60 + i);
        const g = (a: Tensor, b: Tensor) => tf.sum(tf.mul(forward(a, b), r));
        tf.registerGradient(stockConv2DGradient());
        const expected = tf.grads(g)([x, f]).map((t) => t.dataSync());
        installWasmConv2DGradient({ force: true });
        const actual = tf.grads(g)([x, f]).map((t) => t.dataSync());
        for (const k of [0, 1]) {
          const scale = Math.max(...Array.from(expected[k]!, Math.abs));
          const diff = Math.max(...Array.from(expected[k]!, (e, j) => Math.abs(e - actual[k]![j]!)));
          assert.ok(diff <= 1e-5 * scale, `case ${i} ${JSON.stringify(c)} grad ${k}: max diff ${diff} vs scale ${scale}`);
        }
      }
      const x = tf.zeros([1, 5, 5, 1]);
      const dy = tf.zeros([1, 3, 3, 1]);
      assert.throws(() => conv2dFilterGradIm2col(x, dy, [3, 3, 1, 1], { strides: 1, pad: 'valid', dataFormat: 'NCHW', dilations: 1 }), /NHWC/);
      assert.throws(() => conv2dFilterGradIm2col(x, dy, [2, 2, 1, 1], { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 2 }), /dilations/);
    } finally {
      installWasmConv2DGradient();
      await initTfBackend('wasm');
    }
  });
});

describe('cnn training on wasm', () => {
  test('resuming from a checkpoint reproduces the uninterrupted run bit for bit', async () => {
    const r = recipe({ hidden: [8], batchSize: 20, epochs: 2, checkpointEvery: 2 }); // 10 steps over 100 images
    const data = subset(train, 100);
    const checkpoints: Checkpoint[] = [];
    const full = await trainClassifier(data, r, { seed: 'cnn-resume', onCheckpoint: async (c) => void checkpoints.push(c) });
    assert.equal(full.steps, 10);
    assert.deepEqual(checkpoints.map((c) => c.step), [2, 4, 6, 8, 10]);
    for (const from of [checkpoints[1]!, checkpoints[2]!]) {
      const resumed = await trainClassifier(data, r, { seed: 'cnn-resume', resume: from });
      assert.equal(resumed.resumedFromStep, from.step);
      assertSameWeights(resumed.model, full.model, `resumed from step ${from.step}`);
      assert.equal(resumed.finalLoss, full.finalLoss);
    }
    const state = decodeCheckpoint(checkpoints[1]!.bytes);
    assert.equal(state.model.arch, 'cnn');
    assert.ok(Buffer.from(encodeCheckpoint(state)).equals(Buffer.from(checkpoints[1]!.bytes)));
    // A cnn checkpoint cannot resume an mlp run with the same fingerprint, and vice versa.
    await assert.rejects(trainClassifier(data, { ...r, model: 'mlp' }, { seed: 'cnn-resume', resume: checkpoints[1]! }), CheckpointMismatchError);
  });

  test('evaluation computes the logits training computes', async () => {
    const model = (await trainClassifier(subset(train, 40), recipe({ hidden: [8] }), { seed: 'eval' })).model;
    const logits = await predictLogits(model, testSet.images, 50, { batchSize: 16, backend: 'wasm' });
    assert.equal(tf.getBackend(), 'wasm');
    const shapes = modelShapes('cnn', model.hidden);
    const want = tf.tidy(() => {
      const w = model.weights.map((v, i) => tf.tensor(v, shapes[i]));
      return classifierLogits('cnn', tf.tensor2d(preprocess(testSet.images, 50), [50, 784]), w, model.hidden).dataSync();
    });
    let worst = 0;
    want.forEach((e, i) => (worst = Math.max(worst, Math.abs(e - logits[i]!) / (1 + Math.abs(e)))));
    assert.ok(worst < 1e-4, `fused inference differs from the training forward pass by ${worst}`);
  });

  test('learns Fashion-MNIST: loss falls and > 70% test accuracy from 2000 images', async () => {
    const r = recipe({ hidden: [32], batchSize: 64, epochs: 2, learningRate: 0.002 }); // 32 steps/epoch: 64 steps
    const losses: number[] = [];
    const started = performance.now();
    const result = await trainClassifier(subset(train, 2000), r, { seed: 0, yieldEveryMs: 0, onProgress: (p) => losses.push(p.loss) });
    const seconds = (performance.now() - started) / 1000;
    const backend = tf.getBackend();
    assert.equal(backend, 'wasm');
    assert.equal(result.steps, 64);
    const early = losses.slice(0, 5).reduce((a, b) => a + b, 0) / 5;
    const late = losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
    assert.ok(early > 1.8 && late < 0.9 * early, `batch loss ${early.toFixed(3)} (first 5 steps) -> ${late.toFixed(3)} (last 5)`);
    const metrics = await evaluateClassifier(result.model, subset(testSet, 2000), { backend: 'wasm' });
    assert.ok(metrics.accuracy > 0.7, `accuracy ${metrics.accuracy}`);
    console.log(
      `  [cnn, 2000 images, ${result.steps} steps in ${seconds.toFixed(1)} s on ${backend}] ` +
        `batch loss ${early.toFixed(3)} -> ${late.toFixed(3)}, test accuracy ${metrics.accuracy.toFixed(3)}, loss ${metrics.loss.toFixed(3)}`,
    );
  });
});

describe('cnn serialization', () => {
  const model = initialClassifier([6], 'ser', 'cnn');

  function craft(header: unknown, floats: number): Uint8Array {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const offset = (8 + json.length + 3) & ~3;
    const out = new Uint8Array(offset + 4 * floats);
    out.set(new TextEncoder().encode('SSCM'), 0);
    new DataView(out.buffer).setUint32(4, json.length, true);
    out.set(json, 8);
    return out;
  }

  test('model bytes round-trip exactly, header records arch and shapes', () => {
    const bytes = serializeClassifier(model);
    assert.deepEqual(deserializeClassifier(bytes), model);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + new DataView(bytes.buffer).getUint32(4, true))));
    assert.equal(header.arch, 'cnn');
    assert.deepEqual(header.shapes, modelShapes('cnn', [6]));
  });

  test('malformed cnn model bytes throw CorruptModelError', () => {
    const good = serializeClassifier(model);
    const header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + new DataView(good.buffer).getUint32(4, true))));
    const floats = modelShapes('cnn', [6]).reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated', good.subarray(0, good.length - 4), /bytes, expected/],
      ['one float too many', new Uint8Array([...good, 0, 0, 0, 0]), /bytes, expected/],
      ['conv shapes altered', craft({ ...header, shapes: [[3, 3, 1, 8], ...header.shapes.slice(1)] }, floats), /shapes .* do not match arch 'cnn'/],
      ['mlp shapes under a cnn arch', craft({ ...header, shapes: modelShapes('mlp', [6]) }, floats), /shapes/],
      ['cnn shapes under an mlp arch', craft({ ...header, arch: 'mlp' }, floats), /do not match arch 'mlp'/],
      ['hidden changed', craft({ ...header, hidden: [7] }, floats), /shapes/],
      ['unknown arch', craft({ ...header, arch: 'CNN' }, floats), /unsupported arch/],
    ];
    for (const [name, bytes, message] of cases) {
      assert.throws(() => deserializeClassifier(bytes), (err: Error) => {
        assert.ok(err instanceof CorruptModelError, `${name}: ${err}`);
        assert.match(err.message, message, name);
        return true;
      });
    }
    // In-memory models are checked against their arch too.
    assert.throws(() => serializeClassifier({ ...model, arch: 'mlp' }), CorruptModelError);
    assert.throws(() => serializeClassifier({ ...model, weights: [model.weights[0]!.subarray(1), ...model.weights.slice(1)] }), CorruptModelError);
  });

  test('checkpoint of a cnn rejects an mlp model header', () => {
    const state = {
      step: 1,
      totalSteps: 2,
      lastLoss: 1,
      run: { seed: 's', count: 10, hidden: [6], epochs: 1, minSteps: 0, batchSize: 5, learningRate: 0.001, schedule: 'cosine' as const, weightDecay: 0, validationFraction: 0.1, patience: 5, shuffleWindow: 16384 },
      model,
      adam: { iteration: 1, m: model.weights.map((w) => w.slice()), v: model.weights.map((w) => w.slice()) },
      early: NO_EARLY_STOPPING,
    };
    const bytes = encodeCheckpoint(state);
    assert.deepEqual(decodeCheckpoint(bytes).model, model);
    const headerLength = new DataView(bytes.buffer).getUint32(4, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    const json = new TextEncoder().encode(JSON.stringify({ ...header, model: { ...header.model, arch: 'mlp' } }));
    const floats = (bytes.length - ((8 + headerLength + 3) & ~3)) / 4;
    const out = new Uint8Array(((8 + json.length + 3) & ~3) + 4 * floats);
    out.set(new TextEncoder().encode('SSCK'));
    new DataView(out.buffer).setUint32(4, json.length, true);
    out.set(json, 8);
    assert.throws(() => decodeCheckpoint(out), /do not match arch 'mlp'/);
  });
});
