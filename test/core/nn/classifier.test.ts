// Classifier training: backend setup, the wasm matMul gradient, determinism, checkpoint/resume,
// serialization hardening and that it actually learns Fashion-MNIST.
// Run: node --import tsx --test test/train.test.ts
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { loadSplit, locateFashionMnist, type ImageSet } from '../../../core/datasets/fashion-mnist.js';
import type { TrainingRecipe } from '../../../contracts/spec/sweep.js';
import {
  BackendUnavailableError,
  initTfBackend,
  installWasmMatMulGradient,
  stockBatchMatMulGradient,
  uninstallWasmMatMulGradient,
  type Tf,
} from '../../../core/nn/backend.js';
import {
  CheckpointMismatchError,
  CorruptModelError,
  decodeCheckpoint,
  deserializeClassifier,
  encodeCheckpoint,
  initialClassifier,
  preprocess,
  serializeClassifier,
  trainClassifier,
  weightShapes,
  type Checkpoint,
  type RunFingerprint,
  type SerializedClassifier,
} from '../../../core/nn/classifier.js';
import { NO_EARLY_STOPPING, type EarlyStoppingState } from '../../../core/nn/container.js';
import { evaluateClassifier } from '../../../core/nn/metrics.js';

let tf: Tf;
let train: ImageSet;
let testSet: ImageSet;

before(async () => {
  ({ tf } = await initTfBackend('wasm'));
  const dir = await locateFashionMnist(join(process.cwd(), '.synthscale/data'));
  [train, testSet] = await Promise.all([loadSplit(dir, 'train'), loadSplit(dir, 'test')]);
});

function subset(set: ImageSet, count: number): ImageSet {
  return { images: set.images.subarray(0, count * 784), labels: set.labels.subarray(0, count), count, geometry: set.geometry };
}

function recipe(overrides: Partial<TrainingRecipe>): TrainingRecipe {
  return {
    model: 'mlp',
    hidden: [32],
    epochs: 1,
    minSteps: 0,
    batchSize: 50,
    learningRate: 0.001,
    // The plain loop (no schedule, decay or validation) unless a test asks for the fair recipe.
    schedule: 'constant',
    weightDecay: 0,
    validationFraction: 0,
    patience: 0,
    checkpointEvery: 1000,
    shuffleWindow: 16384,
    backend: 'wasm',
    ...overrides,
  };
}

function assertSameWeights(a: SerializedClassifier, b: SerializedClassifier, message: string) {
  assert.deepEqual(a.hidden, b.hidden);
  assert.equal(a.weights.length, b.weights.length);
  a.weights.forEach((w, i) => {
    // Compare bit patterns, so -0 vs 0 or differing NaN payloads would count as different too.
    const x = new Uint32Array(w.buffer, w.byteOffset, w.length);
    const y = new Uint32Array(b.weights[i]!.buffer, b.weights[i]!.byteOffset, b.weights[i]!.length);
    assert.ok(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength)), `${message}: weight ${i} differs`);
  });
}

describe('backend', () => {
  test('wasm initializes once and is memoized', async () => {
    const a = await initTfBackend('wasm');
    const b = await initTfBackend('wasm');
    assert.equal(a.backend, 'wasm');
    assert.equal(a, b);
    assert.equal(tf.getBackend(), 'wasm');
  });

  test("'tensorflow' without a native binding fails with a clear error", async (t) => {
    const native = await Promise.any(
      ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].map((name) => import(name as string)),
    ).then(
      () => true,
      () => false,
    );
    if (native) return t.skip('a native binding is installed');
    await assert.rejects(initTfBackend('tensorflow'), (err: Error) => {
      assert.ok(err instanceof BackendUnavailableError);
      assert.match(err.message, /tfjs-node/);
      assert.match(err.message, /'auto', 'wasm' or 'cpu'/);
      return true;
    });
    assert.equal(tf.getBackend(), 'wasm', 'a failed native attempt leaves the backend alone');
  });

  test('explicit-transpose BatchMatMul gradient equals the stock gradient', async () => {
    await initTfBackend('wasm');
    const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
      { a: [37, 61], b: [61, 23], ta: false, tb: false },
      { a: [37, 61], b: [23, 61], ta: false, tb: true },
      { a: [61, 37], b: [61, 23], ta: true, tb: false },
      { a: [61, 37], b: [23, 61], ta: true, tb: true },
      { a: [3, 17, 29], b: [3, 29, 11], ta: false, tb: false },
      { a: [3, 29, 17], b: [3, 11, 29], ta: true, tb: true },
    ];
    const stock = stockBatchMatMulGradient();
    try {
      for (const [i, c] of cases.entries()) {
        const a = tf.randomNormal(c.a, 0, 1, 'float32', 10 + i);
        const b = tf.randomNormal(c.b, 0, 1, 'float32', 20 + i);
        const outShape = tf.matMul(a, b, c.ta, c.tb).shape;
        const r = tf.randomNormal(outShape, 0, 1, 'float32', 30 + i);
        const f = (x: import('@tensorflow/tfjs').Tensor, y: import('@tensorflow/tfjs').Tensor) => tf.sum(tf.mul(tf.matMul(x, y, c.ta, c.tb), r));
        uninstallWasmMatMulGradient();
        assert.equal(tf.getGradient('BatchMatMul'), stock);
        const expected = tf.grads(f)([a, b]).map((g) => g.dataSync());
        installWasmMatMulGradient();
        assert.notEqual(tf.getGradient('BatchMatMul'), stock);
        const actual = tf.grads(f)([a, b]).map((g) => g.dataSync());
        for (const k of [0, 1]) {
          const e = expected[k]!;
          const g = actual[k]!;
          assert.equal(g.length, e.length);
          let scale = 0;
          let maxDiff = 0;
          for (let j = 0; j < e.length; j++) {
            scale = Math.max(scale, Math.abs(e[j]!));
            maxDiff = Math.max(maxDiff, Math.abs(e[j]! - g[j]!));
          }
          // Same math, different summation order: equal up to float32 rounding.
          assert.ok(maxDiff <= 1e-5 * scale, `case ${i} (${JSON.stringify(c)}) grad ${k}: max diff ${maxDiff} vs scale ${scale}`);
        }
      }
    } finally {
      installWasmMatMulGradient();
    }
  });
});

describe('trainClassifier', () => {
  test('same seed gives bit-identical weights; another seed does not', async () => {
    const data = subset(train, 500);
    const r = recipe({ hidden: [32], minSteps: 30 });
    const a = await trainClassifier(data, r, { seed: 7 });
    const b = await trainClassifier(data, r, { seed: 7 });
    const c = await trainClassifier(data, r, { seed: 8 });
    assert.equal(a.steps, 30);
    assert.equal(a.resumedFromStep, 0);
    assert.ok(Number.isFinite(a.finalLoss));
    assertSameWeights(a.model, b.model, 'same seed');
    assert.equal(a.finalLoss, b.finalLoss);
    assert.notDeepEqual(a.model.weights[0], c.model.weights[0]);
  });

  for (const placement of ['device', 'host'] as const) test(`resuming from a checkpoint reproduces the uninterrupted run bit for bit (Adam on ${placement})`, async (t) => {
    process.env.SYNTHSCALE_ADAM = placement;
    t.after(() => delete process.env.SYNTHSCALE_ADAM);
    const data = subset(train, 600);
    // 10 steps per epoch; minSteps takes it past `epochs`, into epochs 3 and 4.
    const r = recipe({ hidden: [64, 32], batchSize: 64, epochs: 3, minSteps: 45, checkpointEvery: 10 });
    const full: Checkpoint[] = [];
    const uninterrupted = await trainClassifier(data, r, { seed: 'resume', onCheckpoint: async (c) => void full.push(c) });
    assert.deepEqual(full.map((c) => c.step), [10, 20, 30, 40, 45]);
    assert.equal(uninterrupted.steps, 45);

    const controller = new AbortController();
    const partial: Checkpoint[] = [];
    await assert.rejects(
      trainClassifier(data, r, {
        seed: 'resume',
        signal: controller.signal,
        onCheckpoint: async (c) => {
          partial.push(c);
          if (c.step === 20) controller.abort();
        },
      }),
      { name: 'AbortError' },
    );
    assert.deepEqual(partial.map((c) => c.step), [10, 20]);
    // A checkpoint survives storage as bytes only.
    const stored: Checkpoint = { step: 20, totalSteps: 45, bytes: new Uint8Array(partial[1]!.bytes) };

    const after: Checkpoint[] = [];
    const resumed = await trainClassifier(data, r, { seed: 'resume', resume: stored, onCheckpoint: async (c) => void after.push(c) });
    assert.equal(resumed.resumedFromStep, 20);
    assert.equal(resumed.steps, 45);
    assert.equal(resumed.finalLoss, uninterrupted.finalLoss);
    assertSameWeights(resumed.model, uninterrupted.model, 'resumed vs uninterrupted');
    // Every later checkpoint (weights + Adam slots) is byte-identical too.
    assert.deepEqual(after.map((c) => c.step), [30, 40, 45]);
    after.forEach((c, i) => assert.ok(Buffer.from(c.bytes).equals(Buffer.from(full[i + 2]!.bytes)), `checkpoint ${c.step} differs`));

    // Resuming from the final checkpoint finishes immediately with the same model.
    const done = await trainClassifier(data, r, { seed: 'resume', resume: full.at(-1)! });
    assert.equal(done.steps, 45);
    assert.equal(done.resumedFromStep, 45);
    assertSameWeights(done.model, uninterrupted.model, 'resume at end');
  });

  test('resume refuses a checkpoint from another run', async () => {
    const data = subset(train, 200);
    const r = recipe({ minSteps: 4, checkpointEvery: 2 });
    let checkpoint: Checkpoint | undefined;
    await trainClassifier(data, r, { seed: 1, onCheckpoint: async (c) => void (checkpoint ??= c) });
    assert.ok(checkpoint);
    await assert.rejects(trainClassifier(data, r, { seed: 2, resume: checkpoint }), CheckpointMismatchError);
    await assert.rejects(trainClassifier(data, { ...r, hidden: [16] }, { seed: 1, resume: checkpoint }), CheckpointMismatchError);
    await assert.rejects(trainClassifier(data, r, { seed: 1, resume: { ...checkpoint, step: 3 } }), CheckpointMismatchError);
  });

  test('no tensor growth across steps; yields to the event loop; honours a pre-aborted signal', async () => {
    const data = subset(train, 1000);
    const r = recipe({ hidden: [128], batchSize: 100, minSteps: 60, checkpointEvery: 25 });
    const before = tf.memory().numTensors;
    const during: number[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await trainClassifier(data, r, {
        seed: 3,
        yieldEveryMs: 0,
        onProgress: (p) => {
          assert.ok(p.loss > 0 && p.step >= 1 && p.step <= p.totalSteps);
          during.push(tf.memory().numTensors);
        },
        onCheckpoint: async () => {},
      });
    } finally {
      clearInterval(timer);
    }
    assert.equal(during.length, 60, 'yieldEveryMs: 0 reports every step');
    assert.equal(Math.min(...during), Math.max(...during), `tensor count varied: ${during.join(',')}`);
    assert.equal(tf.memory().numTensors, before, 'everything disposed at the end');
    assert.ok(ticks >= 5, `timers ran only ${ticks} times during training`);

    const reason = new Error('cancelled by the workflow');
    await assert.rejects(trainClassifier(data, r, { seed: 3, signal: AbortSignal.abort(reason) }), (err) => err === reason);
    assert.equal(tf.memory().numTensors, before);
  });

  test('learns Fashion-MNIST: >70% test accuracy from 2000 images', async () => {
    const r = recipe({ hidden: [256], batchSize: 64, epochs: 10, minSteps: 0 }); // 32 steps/epoch: 320 steps
    const started = performance.now();
    const result = await trainClassifier(subset(train, 2000), r, { seed: 0 });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(result.steps, 320);
    const metrics = await evaluateClassifier(result.model, subset(testSet, 2000));
    assert.ok(metrics.accuracy > 0.7, `accuracy ${metrics.accuracy}`);
    assert.ok(metrics.loss < 1, `loss ${metrics.loss}`);
    console.log(
      `  [2000 images, ${result.steps} steps in ${seconds.toFixed(1)} s on ${tf.getBackend()}] ` +
        `test accuracy ${metrics.accuracy.toFixed(3)}, loss ${metrics.loss.toFixed(3)}, ECE ${metrics.ece.toFixed(3)}`,
    );
  });
});

/** A checkpoint's run fingerprint (the tests' own). */
const RUN: RunFingerprint = {
  seed: 's',
  count: 100,
  hidden: [5, 3],
  epochs: 1,
  minSteps: 10,
  batchSize: 10,
  learningRate: 0.001,
  schedule: 'cosine',
  weightDecay: 0.0001,
  validationFraction: 0.1,
  patience: 5,
  shuffleWindow: 16384,
};

function encodeCheckpointFor(m: SerializedClassifier, early: EarlyStoppingState = NO_EARLY_STOPPING): Uint8Array {
  return encodeCheckpoint({
    step: 4,
    totalSteps: 10,
    lastLoss: 1.5,
    run: { ...RUN, hidden: m.hidden },
    model: m,
    adam: { iteration: 4, m: m.weights.map((w) => w.map((x) => x / 2)), v: m.weights.map((w) => w.map((x) => x * x)) },
    early,
  });
}

describe('serialization', () => {
  const model = initialClassifier([5, 3], 'ser');

  /** Container with an arbitrary header, for crafting malformed inputs. */
  function craft(magic: string, header: unknown, floats: number, headerLength?: number): Uint8Array {
    const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
    const offset = (8 + json.length + 3) & ~3;
    const out = new Uint8Array(offset + 4 * floats);
    out.set(new TextEncoder().encode(magic), 0);
    new DataView(out.buffer).setUint32(4, headerLength ?? json.length, true);
    out.set(json, 8);
    return out;
  }

  test('model bytes round-trip exactly', () => {
    const bytes = serializeClassifier(model);
    const back = deserializeClassifier(bytes);
    assert.deepEqual(back, model);
    // Also from a view into a larger buffer (as from a storage read).
    const padded = new Uint8Array(bytes.length + 16);
    padded.set(bytes, 7);
    assert.deepEqual(deserializeClassifier(padded.subarray(7, 7 + bytes.length)), model);
  });

  test('malformed model bytes throw CorruptModelError', () => {
    const good = serializeClassifier(model);
    const header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + new DataView(good.buffer).getUint32(4, true))));
    const floats = weightShapes([5, 3]).reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /too short/],
      ['truncated', good.subarray(0, good.length - 4), /bytes, expected/],
      ['one byte too many', new Uint8Array([...good, 0]), /bytes, expected/],
      ['bad magic', new Uint8Array([0x50, 0x4b, 3, 4, ...good.subarray(4)]), /bad magic/],
      ['header length past the end', craft('SSCM', header, 0, 1e6), /header length/],
      ['header not JSON', craft('SSCM', '{"format":1,', floats), /not valid JSON/],
      ['header not an object', craft('SSCM', [1, 2], floats), /not a JSON object/],
      ['future format', craft('SSCM', { ...header, format: 2 }, floats), /format version/],
      ['other arch', craft('SSCM', { ...header, arch: 'rnn' }, floats), /arch/],
      ['cnn header on mlp weights', craft('SSCM', { ...header, arch: 'cnn' }, floats), /shapes .* do not match arch 'cnn'/],
      ['bad hidden', craft('SSCM', { ...header, hidden: [5, -3] }, floats), /hidden/],
      ['hidden not an array', craft('SSCM', { ...header, hidden: '5,3' }, floats), /hidden/],
      ['absurd size', craft('SSCM', { ...header, hidden: [65536, 65536] }, floats), /parameters exceeds/],
      ['shapes disagree', craft('SSCM', { ...header, hidden: [5, 4] }, floats), /shapes/],
      ['checkpoint given as model', encodeCheckpointFor(model), /bad magic/],
    ];
    for (const [name, bytes, message] of cases) {
      assert.throws(() => deserializeClassifier(bytes), (err: Error) => {
        assert.ok(err instanceof CorruptModelError, `${name}: ${err}`);
        assert.match(err.message, message, name);
        return true;
      });
    }
    assert.throws(() => serializeClassifier({ ...model, weights: model.weights.slice(1) }), CorruptModelError);
  });

  test('checkpoint bytes round-trip and reject corruption', () => {
    const bytes = encodeCheckpointFor(model);
    const state = decodeCheckpoint(bytes);
    assert.equal(state.step, 4);
    assert.equal(state.lastLoss, 1.5);
    assert.deepEqual(state.model, model);
    assert.deepEqual(state.adam.m[1], model.weights[1]!.map((x) => x / 2));
    assert.ok(Buffer.from(encodeCheckpoint(state)).equals(Buffer.from(bytes)));

    const headerLength = new DataView(bytes.buffer).getUint32(4, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    const floats = (bytes.length - ((8 + headerLength + 3) & ~3)) / 4;
    const bad: [string, Uint8Array][] = [
      ['truncated', bytes.subarray(0, bytes.length - 1)],
      ['model given as checkpoint', serializeClassifier(model)],
      ['negative step', craft('SSCK', { ...header, step: -1 }, floats)],
      ['iteration mismatch', craft('SSCK', { ...header, adam: { ...header.adam, iteration: 9 } }, floats)],
      ['other beta', craft('SSCK', { ...header, adam: { ...header.adam, beta1: 0.5 } }, floats)],
      ['hidden mismatch', craft('SSCK', { ...header, run: { ...header.run, hidden: [5] } }, floats)],
      ['run missing', craft('SSCK', { ...header, run: null }, floats)],
      ['slots missing', craft('SSCK', header, floats / 3)],
      ['early stopping state missing', craft('SSCK', { ...header, early: undefined }, floats)],
      ['best epoch without its loss', craft('SSCK', { ...header, early: { ...header.early, bestEpoch: 2 } }, floats)],
      ['best weights absent', craft('SSCK', { ...header, early: { ...header.early, bestEpoch: 2, bestLoss: 0.5 } }, floats)],
      ['unknown schedule', craft('SSCK', { ...header, run: { ...header.run, schedule: 'step' } }, floats)],
    ];
    for (const [name, b] of bad) assert.throws(() => decodeCheckpoint(b), CorruptModelError, name);
  });

  test('preprocess scales pixels to [0, 1] and gathers by index', () => {
    const images = new Uint8Array(2 * 784);
    images[0] = 255;
    images[784 + 1] = 51;
    const all = preprocess(images, 2);
    assert.equal(all[0], 1);
    assert.equal(all[784 + 1], Math.fround(0.2));
    const gathered = preprocess(images, 2, [1, 1, 0]);
    assert.equal(gathered.length, 3 * 784);
    assert.equal(gathered[1], Math.fround(0.2));
    assert.equal(gathered[2 * 784], 1);
    assert.throws(() => preprocess(images, 2, [2]), RangeError);
  });
});

describe('checkpoint early stopping state', () => {
  const model = initialClassifier([5, 3], 'ser');

  test("early stopping's state and the best weights round-trip", () => {
    const best = model.weights.map((w) => w.map((x) => x + 1));
    const early: EarlyStoppingState = { bestEpoch: 3, bestLoss: 0.4321, epochsSinceBest: 2, stoppedEpoch: 0, bestWeights: best };
    const bytes = encodeCheckpointFor(model, early);
    const state = decodeCheckpoint(bytes);
    assert.deepEqual(state.early, early);
    assert.deepEqual(state.run, { ...RUN, hidden: model.hidden });
    assert.ok(Buffer.from(encodeCheckpoint(state)).equals(Buffer.from(bytes)));
    assert.throws(() => encodeCheckpointFor(model, { ...early, bestWeights: null }), /best weights are kept exactly when a best epoch is/);
  });
});
