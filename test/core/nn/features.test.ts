// Penultimate-layer features (core/nn/features.ts): an MLP's against a float64 forward pass, the head
// applied to them giving predictLogits's logits (MLP and CNN), batching and index gathering.
// Run: node --import tsx --test test/core/nn/features.test.ts
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initTfBackend } from '../../../core/nn/backend.js';
import { initialClassifier, INPUT_SIZE, NUM_CLASSES, preprocess, type SerializedClassifier } from '../../../core/nn/classifier.js';
import { predictFeatures } from '../../../core/nn/features.js';
import { predictLogits } from '../../../core/nn/metrics.js';
import { createRng } from '../../../core/rng.js';

const close = (actual: number, expected: number, tol: number, what = '') => assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} != ${expected} (tol ${tol})`);

function randomImages(count: number, seed: string): Uint8Array {
  const rng = createRng(seed);
  return Uint8Array.from({ length: count * INPUT_SIZE }, () => rng.int(256));
}

/** Non-zero biases, so a mix-up of kernel and bias or of the layers shows. */
function withBiases(model: SerializedClassifier): SerializedClassifier {
  const rng = createRng('biases');
  return { ...model, weights: model.weights.map((w, i) => (i % 2 === 1 && w.length <= 256 ? Float32Array.from(w, () => 0.1 * rng.normal()) : w)) };
}

/** Head applied to features in float64: features [n, F] . W [F, 10] + b. */
function headLogits(model: SerializedClassifier, features: Float32Array, n: number, dim: number): Float64Array {
  const kernel = model.weights[model.weights.length - 2]!;
  const bias = model.weights[model.weights.length - 1]!;
  const out = new Float64Array(n * NUM_CLASSES);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < NUM_CLASSES; c++) {
      let s = bias[c]!;
      for (let k = 0; k < dim; k++) s += features[r * dim + k]! * kernel[k * NUM_CLASSES + c]!;
      out[r * NUM_CLASSES + c] = s;
    }
  }
  return out;
}

describe('predictFeatures', () => {
  before(async () => {
    await initTfBackend('wasm');
  });

  test('MLP: the last hidden layer, as a float64 forward pass computes it', async () => {
    const model = withBiases(initialClassifier([16, 8], 'features'));
    const n = 7;
    const images = randomImages(n, 'mlp');
    const out = await predictFeatures(model, images, n, { batchSize: 3 });
    assert.deepEqual([out.count, out.dim, out.values.length], [n, 8, n * 8]);
    let h = Float64Array.from(preprocess(images, n));
    let width = INPUT_SIZE;
    for (let l = 0; l < 2; l++) {
      const units = model.hidden[l]!;
      const next = new Float64Array(n * units);
      for (let r = 0; r < n; r++) {
        for (let u = 0; u < units; u++) {
          let s = model.weights[2 * l + 1]![u]!;
          for (let k = 0; k < width; k++) s += h[r * width + k]! * model.weights[2 * l]![k * units + u]!;
          next[r * units + u] = Math.max(0, s);
        }
      }
      h = next;
      width = units;
    }
    h.forEach((v, i) => close(out.values[i]!, v, 1e-4, `feature ${i}`));
    assert.ok(out.values.some((v) => v > 0) && out.values.some((v) => v === 0), 'ReLU features: some positive, some zero');
  });

  for (const [arch, hidden, dim] of [['mlp', [], INPUT_SIZE], ['cnn', [12], 12], ['cnn', [], 1568]] as const) {
    test(`${arch} ${JSON.stringify(hidden)}: the head on the features gives predictLogits's logits`, async () => {
      const model = withBiases(initialClassifier(hidden, `head-${arch}`, arch));
      const n = 5;
      const images = randomImages(n, arch);
      const features = await predictFeatures(model, images, n);
      assert.equal(features.dim, dim);
      const logits = await predictLogits(model, images, n);
      headLogits(model, features.values, n, dim).forEach((v, i) => close(logits[i]!, v, 1e-3, `logit ${i}`));
    });
  }

  test('indices gather those images in that order, across batches', async () => {
    const model = initialClassifier([6], 'gather');
    const images = randomImages(9, 'gather');
    const all = await predictFeatures(model, images, 9);
    const indices = [8, 0, 3, 3, 5];
    const picked = await predictFeatures(model, images, 0, { indices, batchSize: 2 });
    assert.equal(picked.count, indices.length);
    indices.forEach((src, r) => {
      for (let c = 0; c < 6; c++) close(picked.values[r * 6 + c]!, all.values[src * 6 + c]!, 1e-6, `row ${r}`);
    });
    await assert.rejects(predictFeatures(model, images, 10), /fewer than 10 images/);
  });
});
