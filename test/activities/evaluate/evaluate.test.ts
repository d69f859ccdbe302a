// Evaluation metrics: hand-computed ECE / cross-entropy, metrics from logits, and batched
// inference agreeing with a float64 reference forward pass and with the layers model.
// Run: node --import tsx --test test/evaluate.test.ts
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initTfBackend, type Tf } from '../../../core/nn/backend.js';
import { CorruptModelError, initialClassifier, preprocess, toLayersModel, type SerializedClassifier } from '../../../core/nn/classifier.js';
import {
  crossEntropy,
  evaluateClassifier,
  expectedCalibrationError,
  metricsFromLogits,
  predictLogits,
  predictProbabilities,
} from '../../../core/nn/metrics.js';

const close = (actual: number, expected: number, tol = 1e-12, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} != ${expected} (tol ${tol})`);

describe('expectedCalibrationError', () => {
  test('hand-computed example, 15 bins', () => {
    // bins (lower, upper]: 0.95 -> bin 14 (acc 1/2, conf .95: gap .45, weight 2/4),
    // 0.55 -> bin 8 (acc 1, gap .45, weight 1/4), 0.25 -> bin 3 (acc 1, gap .75, weight 1/4).
    const ece = expectedCalibrationError([0.95, 0.95, 0.55, 0.25], [1, 0, 1, 1]);
    close(ece, 0.5 * 0.45 + 0.25 * 0.45 + 0.25 * 0.75, 1e-12, 'ece');
    close(ece, 0.525, 1e-12);
  });

  test('confidences in one bin average before the gap is taken', () => {
    // 0.61 and 0.65 share bin 9 ((0.6, 0.6667]): mean conf .63, acc .5 -> |.5 - .63| = .13.
    close(expectedCalibrationError([0.61, 0.65], [true, false]), 0.13, 1e-12);
    // In separate bins they would not cancel: .71 in bin 10, .79 in bin 11.
    close(expectedCalibrationError([0.71, 0.79], [true, false]), 0.5 * 0.29 + 0.5 * 0.79, 1e-12);
  });

  test('perfect calibration is 0; certain and wrong is 1; one bin is |acc - conf|', () => {
    const conf = new Array(10).fill(0.7);
    const correct = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0];
    close(expectedCalibrationError(conf, correct), 0, 1e-12);
    assert.equal(expectedCalibrationError([1], [1]), 0);
    assert.equal(expectedCalibrationError([1], [0]), 1);
    assert.equal(expectedCalibrationError([0], [0]), 0, 'confidence 0 lands in the first bin');
    close(expectedCalibrationError([0.9, 0.2, 0.6], [1, 1, 0], 1), Math.abs(2 / 3 - 1.7 / 3), 1e-12);
    assert.equal(expectedCalibrationError([], []), 0);
    assert.throws(() => expectedCalibrationError([0.5], [1, 0]));
    assert.throws(() => expectedCalibrationError([1.5], [1]));
    assert.throws(() => expectedCalibrationError([0.5], [1], 0));
  });
});

describe('crossEntropy', () => {
  test('hand-computed mean natural-log loss', () => {
    close(crossEntropy([0.25, 0.75, 0.9, 0.1], [1, 0], 2), -(Math.log(0.75) + Math.log(0.9)) / 2, 1e-12);
    close(crossEntropy(new Array(10).fill(0.1), [3]), Math.log(10), 1e-12);
    close(crossEntropy([1, 0], [1], 2), -Math.log(1e-12), 1e-9, 'p = 0 is floored');
    assert.throws(() => crossEntropy([0.5, 0.5], [2], 2));
    assert.throws(() => crossEntropy([0.5, 0.5, 1], [0], 2));
  });
});

describe('metricsFromLogits', () => {
  test('accuracy, confusion, per-class accuracy and loss on hand-made logits', () => {
    const logits = [
      [2, 0, 0], // true 0, predicted 0
      [0, 3, 1], // true 1, predicted 1
      [0, 1, 4], // true 1, predicted 2
      [5, 0, 1], // true 2, predicted 0
    ];
    const labels = [0, 1, 1, 2];
    const m = metricsFromLogits(logits.flat(), labels, 4, 3);
    assert.equal(m.count, 4);
    assert.equal(m.accuracy, 0.5);
    assert.deepEqual(m.confusion, [
      [1, 0, 0],
      [0, 1, 1],
      [1, 0, 0],
    ]);
    assert.deepEqual(m.perClassAccuracy, [1, 0.5, 0]);
    const probs = logits.flatMap((row) => {
      const e = row.map(Math.exp);
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((x) => x / s);
    });
    close(m.loss, crossEntropy(probs, labels, 3), 1e-12, 'loss');
    const conf = logits.map((_, r) => Math.max(...probs.slice(3 * r, 3 * r + 3)));
    close(m.ece, expectedCalibrationError(conf, [1, 1, 0, 0]), 1e-12, 'ece');
    assert.ok(Number.isNaN(metricsFromLogits([0, 1, 0, 1], [0, 0], 2, 3).perClassAccuracy[2]!), 'no examples -> NaN');
  });

  test('huge logits stay finite (log-sum-exp)', () => {
    const m = metricsFromLogits([1000, 0, -1000, 0], [1, 0], 2, 2);
    close(m.loss, (1000 + 1000) / 2, 1e-9);
    assert.equal(m.accuracy, 0);
  });
});

describe('batched inference', () => {
  let tf: Tf;
  const model = initialClassifier([24, 12], 'eval-test');
  // Make the biases non-zero so they are exercised.
  for (let i = 1; i < model.weights.length; i += 2) model.weights[i]!.forEach((_, j, b) => (b[j] = 0.01 * ((j % 7) - 3)));
  const count = 1234;
  const images = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
  for (let i = 0; i < images.length; i++) images[i] = next() >>> 24;
  for (let i = 0; i < count; i++) labels[i] = (next() >>> 16) % 10;

  before(async () => {
    ({ tf } = await initTfBackend('wasm'));
  });

  /** float64 forward pass straight from the serialized weights. */
  function referenceLogits(m: SerializedClassifier, x: Float32Array, n: number): Float64Array {
    let h: Float64Array = Float64Array.from(x);
    let width = m.inputSize;
    const widths = [...m.hidden, m.classes];
    widths.forEach((units, l) => {
      const kernel = m.weights[2 * l]!;
      const bias = m.weights[2 * l + 1]!;
      const out = new Float64Array(n * units);
      for (let r = 0; r < n; r++) {
        for (let u = 0; u < units; u++) {
          let s = bias[u]!;
          for (let k = 0; k < width; k++) s += h[r * width + k]! * kernel[k * units + u]!;
          out[r * units + u] = l + 1 < widths.length ? Math.max(0, s) : s;
        }
      }
      h = out;
      width = units;
    });
    return h;
  }

  test('predictLogits matches a float64 reference and the TF.js layers model, for any batch size', async () => {
    const reference = referenceLogits(model, preprocess(images, count), count);
    const before = tf.memory().numTensors;
    for (const batchSize of [1000, 97, count]) {
      const logits = await predictLogits(model, images, count, { batchSize });
      assert.equal(logits.length, count * 10);
      let maxDiff = 0;
      for (let i = 0; i < logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(logits[i]! - reference[i]!));
      assert.ok(maxDiff < 1e-4, `batch ${batchSize}: max diff ${maxDiff}`);
    }
    assert.equal(tf.memory().numTensors, before, 'inference disposes its tensors');

    const layers = toLayersModel(model);
    const viaLayers = tf.tidy(() => (layers.predict(tf.tensor2d(preprocess(images, 50), [50, 784])) as import('@tensorflow/tfjs').Tensor).dataSync());
    layers.dispose();
    const ours = await predictLogits(model, images, 50);
    for (let i = 0; i < viaLayers.length; i++) close(ours[i]!, viaLayers[i]!, 1e-5, `layers model logit ${i}`);
  });

  test('predictProbabilities rows are softmax distributions; evaluateClassifier agrees with the helpers', async () => {
    const probs = await predictProbabilities(model, images, count);
    assert.equal(probs.length, count * 10);
    const confidences: number[] = [];
    const correct: number[] = [];
    let hits = 0;
    for (let r = 0; r < count; r++) {
      const row = Array.from(probs.subarray(r * 10, r * 10 + 10));
      close(row.reduce((a, b) => a + b, 0), 1, 1e-6, `row ${r} sum`);
      assert.ok(row.every((p) => p >= 0 && p <= 1));
      const best = row.indexOf(Math.max(...row));
      confidences.push(row[best]!);
      correct.push(best === labels[r] ? 1 : 0);
      hits += correct[r]!;
    }
    const m = await evaluateClassifier(model, { images, labels, count });
    assert.equal(m.count, count);
    assert.equal(m.accuracy, hits / count);
    close(m.loss, crossEntropy(probs, labels), 1e-5, 'loss');
    close(m.ece, expectedCalibrationError(confidences, correct), 1e-5, 'ece');
    assert.equal(m.confusion.flat().reduce((a, b) => a + b, 0), count);
    m.confusion.forEach((row, c) => {
      const total = row.reduce((a, b) => a + b, 0);
      close(m.perClassAccuracy[c]!, row[c]! / total, 1e-15, `class ${c}`);
    });
  });

  test('rejects a model whose weights do not fit its architecture, and bad inputs', async () => {
    const broken: SerializedClassifier = { ...model, weights: [...model.weights.slice(0, -1), new Float32Array(3)] };
    await assert.rejects(evaluateClassifier(broken, { images, labels, count }), CorruptModelError);
    await assert.rejects(predictLogits(model, images.subarray(0, 100), 1));
    await assert.rejects(evaluateClassifier(model, { images, labels: new Uint8Array(count).fill(10), count }), /out of range/);
    await assert.rejects(predictLogits(model, images, count, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });
});
