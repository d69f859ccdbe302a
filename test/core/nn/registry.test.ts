// The model registry (core/nn/models): every name has a definition, the classifier's shapes and
// logits are trunk + linear head, and the fused inference forward pass agrees with training's.
// Run: node --import tsx --test test/core/nn/registry.test.ts
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initTfBackend, type Tf } from '../../../core/nn/backend.js';
import { INPUT_SIZE } from '../../../core/nn/input.js';
import { MODEL_ARCHS as NAMES } from '../../../core/nn/models/names.js';
import {
  classifierLogits,
  fusedClassifierLogits,
  initialWeights,
  MODEL_ARCHS,
  modelDefinition,
  MODELS,
  modelShapes,
  trunkFeatures,
  weightShapes,
} from '../../../core/nn/models/registry.js';
import { createRng } from '../../../core/rng.js';

let tf: Tf;
before(async () => {
  ({ tf } = await initTfBackend('cpu'));
});

describe('model registry', () => {
  test('one definition per name, the names module (no TF.js) lists them all', () => {
    assert.equal(NAMES, MODEL_ARCHS);
    assert.deepEqual(Object.keys(MODELS).sort(), [...NAMES].sort());
    assert.throws(() => modelDefinition('rnn' as never), /unsupported model arch 'rnn'/);
  });

  test('classifier shapes: the trunk, then a [F, 10] head', () => {
    assert.deepEqual(modelShapes('mlp', [32, 16]), weightShapes([32, 16]));
    assert.deepEqual(modelShapes('mlp', []), [[784, 10], [10]]);
    assert.deepEqual(modelShapes('cnn', [12]), [[3, 3, 1, 16], [16], [3, 3, 16, 32], [32], [1568, 12], [12], [12, 10], [10]]);
    for (const arch of MODEL_ARCHS) {
      for (const hidden of [[], [8], [8, 4]]) {
        const trunk = MODELS[arch].trunkShapes(hidden);
        assert.deepEqual(modelShapes(arch, hidden), [...trunk, [trunkFeatures(arch, hidden), 10], [10]]);
      }
    }
  });

  test('fused inference logits match the training forward pass', () => {
    for (const arch of MODEL_ARCHS) {
      const hidden = [8];
      const shapes = modelShapes(arch, hidden);
      const weights = initialWeights(arch, hidden, createRng(`registry|${arch}`));
      assert.deepEqual(weights.map((w) => w.length), shapes.map((s) => s.reduce((a, b) => a * b, 1)));
      const rng = createRng('x');
      const x = Float32Array.from({ length: 3 * INPUT_SIZE }, () => rng.uniform());
      const [plain, fused] = tf.tidy(() => {
        const w = weights.map((values, i) => tf.tensor(values, shapes[i]));
        const xs = tf.tensor2d(x, [3, INPUT_SIZE]);
        return [classifierLogits(arch, xs, w).arraySync(), fusedClassifierLogits(arch, xs, w).arraySync()];
      });
      plain.flat().forEach((v, i) => assert.ok(Math.abs(v - fused.flat()[i]!) < 1e-5, `${arch} logit ${i}: ${v} vs ${fused.flat()[i]}`));
    }
  });
});
