// The model registry (core/nn/models): every name has a definition, the classifier's shapes and
// logits are trunk + linear head at any geometry and class count, and the fused inference forward
// pass agrees with training's (inference mode, batch norm state included).
// Run: node --import tsx --test test/core/nn/registry.test.ts
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initTfBackend, type Tf } from '../../../core/nn/backend.js';
import { INPUT_SIZE } from '../../../core/nn/input.js';
import { modelSpec } from '../../../core/nn/models/definition.js';
import { MODEL_ARCHS as NAMES } from '../../../core/nn/models/names.js';
import {
  classifierLogits,
  fusedClassifierLogits,
  initialState,
  initialWeights,
  MODEL_ARCHS,
  modelDefinition,
  MODELS,
  modelShapes,
  stateShapes,
  trunkFeatures,
  weightShapes,
} from '../../../core/nn/models/registry.js';
import { pixelsPerImage } from '../../../core/image/geometry.js';
import { createRng } from '../../../core/rng.js';

let tf: Tf;
before(async () => {
  ({ tf } = await initTfBackend('cpu'));
});

const RGB32 = { geometry: { size: 32, channels: 3 as const }, classes: 5 };

describe('model registry', () => {
  test('one definition per name, the names module (no TF.js) lists them all', () => {
    assert.equal(NAMES, MODEL_ARCHS);
    assert.deepEqual([...NAMES], ['mlp', 'cnn', 'resnet']);
    assert.deepEqual(Object.keys(MODELS).sort(), [...NAMES].sort());
    assert.throws(() => modelDefinition('rnn' as never), /unsupported model arch 'rnn'/);
  });

  test('classifier shapes at 28x28 grey: the trunk, then a [F, 10] head (a bare hidden list means that input)', () => {
    assert.deepEqual(modelShapes('mlp', [32, 16]), weightShapes([32, 16]));
    assert.deepEqual(modelShapes('mlp', []), [[784, 10], [10]]);
    assert.deepEqual(modelShapes('cnn', [12]), [[3, 3, 1, 16], [16], [3, 3, 16, 32], [32], [1568, 12], [12], [12, 10], [10]]);
    for (const arch of MODEL_ARCHS) {
      for (const hidden of [[], [8], [8, 4]]) {
        const spec = modelSpec(hidden);
        assert.deepEqual(modelShapes(arch, hidden), modelShapes(arch, spec));
        assert.deepEqual(modelShapes(arch, spec), [...MODELS[arch].trunkShapes(spec), [trunkFeatures(arch, spec), 10], [10]]);
      }
    }
  });

  test('shapes follow the geometry and the class count', () => {
    assert.deepEqual(modelShapes('mlp', modelSpec([8], RGB32)), [[32 * 32 * 3, 8], [8], [8, 5], [5]]);
    assert.deepEqual(modelShapes('cnn', modelSpec([12], RGB32)), [[3, 3, 3, 16], [16], [3, 3, 16, 32], [32], [8 * 8 * 32, 12], [12], [12, 5], [5]]);
    // Sides not divisible by 4: each pool rounds up ('same' pooling).
    for (const [size, side] of [[30, 8], [9, 3], [8, 2], [31, 8]] as const) {
      assert.equal(trunkFeatures('cnn', modelSpec([], { geometry: { size, channels: 1 } })), side * side * 32, `cnn at ${size}x${size}`);
    }
    const resnet = modelSpec([], { ...RGB32, resnet: { depth: 8, width: 4 } });
    assert.equal(trunkFeatures('resnet', resnet), 16);
    assert.deepEqual(modelShapes('resnet', resnet).slice(0, 3), [[3, 3, 3, 4], [4], [4]]);
    assert.deepEqual(modelShapes('resnet', resnet).slice(-2), [[16, 5], [5]]);
    assert.equal(stateShapes('resnet', resnet).length, 2 * 7);
    assert.deepEqual(stateShapes('cnn', modelSpec([12], RGB32)), []);
  });

  test('fused inference logits match the training forward pass in inference mode, at any geometry', () => {
    const cases = [
      ...MODEL_ARCHS.map((arch) => ({ arch, spec: modelSpec([8]) })),
      ...MODEL_ARCHS.map((arch) => ({ arch, spec: modelSpec([8], { geometry: { size: 11, channels: 3 }, classes: 3, resnet: { depth: 8, width: 4 } }) })),
    ];
    for (const { arch, spec } of cases) {
      const shapes = modelShapes(arch, spec);
      const weights = initialWeights(arch, spec, createRng(`registry|${arch}`));
      assert.deepEqual(weights.map((w) => w.length), shapes.map((s) => s.reduce((a, b) => a * b, 1)));
      // Non-trivial state: running statistics away from (0, 1), so folding them is exercised.
      const rng = createRng('state');
      const state = initialState(arch, spec).map((s, i) => s.map((v) => (i % 2 ? v * (0.5 + rng.uniform()) : v + 0.2 * rng.normal())));
      const per = pixelsPerImage(spec.geometry);
      const x = Float32Array.from({ length: 3 * per }, () => rng.uniform());
      const [plain, fused] = tf.tidy(() => {
        const w = weights.map((values, i) => tf.tensor(values, shapes[i]));
        const s = state.map((values, i) => tf.tensor(values, stateShapes(arch, spec)[i]));
        const xs = tf.tensor2d(x, [3, per]);
        return [classifierLogits(arch, xs, w, spec, { training: false, state: s }).arraySync(), fusedClassifierLogits(arch, xs, w, spec, s).arraySync()];
      });
      assert.equal(plain.length, 3);
      assert.equal(plain[0]!.length, spec.classes);
      plain.flat().forEach((v, i) => assert.ok(Math.abs(v - fused.flat()[i]!) < 1e-4 * (1 + Math.abs(v)), `${arch} ${spec.geometry.size} logit ${i}: ${v} vs ${fused.flat()[i]}`));
    }
    assert.equal(INPUT_SIZE, 784);
  });
});
