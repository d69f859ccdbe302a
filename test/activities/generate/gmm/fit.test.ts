// Fitting the embedded generator on real Fashion-MNIST: the model's shape and determinism.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { ImageSet } from '../../../../core/datasets/fashion-mnist.js';
import { fitGmmGenerator } from '../../../../activities/generate/gmm/fit.js';
import { GENERATOR_CODE_VERSION, type GmmGeneratorModel } from '../../../../activities/generate/gmm/model.js';
import { serializeGmmModel } from '../../../../activities/generate/gmm/model-format.js';
import { CLASSES, fittedFixture, P } from './fixture.js';

describe('fitGmmGenerator', () => {
  let train: ImageSet;
  let model: GmmGeneratorModel;

  before(async () => {
    ({ train, model } = await fittedFixture());
  });

  test('fitted model has the configured shape', () => {
    assert.equal(model.codeVersion, GENERATOR_CODE_VERSION);
    assert.equal(model.pcaDims, 24);
    assert.equal(model.componentClass.length, 6 * CLASSES.length);
    assert.equal(model.basis.length, 24 * P);
    assert.ok(model.explainedVariance > 0.7 && model.explainedVariance < 1, `explained ${model.explainedVariance}`);
    for (let d = 1; d < model.pcaDims; d++) assert.ok(model.eigenvalues[d]! <= model.eigenvalues[d - 1]! * (1 + 1e-6));
  });

  test('fitting is deterministic for a fitSeed', () => {
    const small: ImageSet = { images: train.images.subarray(0, 2000 * P), labels: train.labels.subarray(0, 2000), count: 2000, geometry: train.geometry };
    const cfg = { pcaDims: 8, componentsPerClass: 3, fitSeed: 7 };
    const a = serializeGmmModel(fitGmmGenerator(small, cfg, CLASSES));
    const b = serializeGmmModel(fitGmmGenerator(small, cfg, CLASSES));
    assert.deepEqual(a, b);
    const c = serializeGmmModel(fitGmmGenerator(small, { ...cfg, fitSeed: 8 }, CLASSES));
    assert.notDeepEqual(a, c);
  });
});
