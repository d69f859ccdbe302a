// Training-time augmentation (core/nn/augment.ts): pad-and-random-crop and horizontal flip as a
// pure function of (seed, epoch, example), the defaults per arch, and that training batches are
// augmented while validation examples never are.
// Run: node --import tsx --test test/core/nn/augment.test.ts
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { augmentationFor, augmentDraw, preprocessAugmented, RESNET_AUGMENTATION } from '../../../core/nn/augment.js';
import { initTfBackend } from '../../../core/nn/backend.js';
import { initialClassifier, preprocess, trainClassifier, type TrainingRecipe } from '../../../core/nn/classifier.js';
import { evaluateClassifier } from '../../../core/nn/metrics.js';
import { holdOut } from '../../../core/nn/validation.js';
import { imageRows } from '../../../core/datasets/image-set.js';
import { createRng } from '../../../core/rng.js';
import { rgbShapes } from './rgb-shapes.js';

before(async () => {
  await initTfBackend('wasm');
});

/** The naive definition: pad by crop with zeros, take the size x size window at (dy, dx), flip it. */
function reference(image: Uint8Array, size: number, channels: number, crop: number, draw: { dy: number; dx: number; flip: boolean }): Float32Array {
  const padded = size + 2 * crop;
  const pad = new Uint8Array(padded * padded * channels);
  for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) for (let k = 0; k < channels; k++) pad[((r + crop) * padded + c + crop) * channels + k] = image[(r * size + c) * channels + k]!;
  const out = new Float32Array(size * size * channels);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const col = draw.dx + (draw.flip ? size - 1 - c : c);
      for (let k = 0; k < channels; k++) out[(r * size + c) * channels + k] = pad[((r + draw.dy) * padded + col) * channels + k]! / 255;
    }
  }
  return out;
}

describe('augmentation', () => {
  test("defaults: crop 4 and flip for 'resnet', none for 'mlp' and 'cnn'; a recipe's own wins", () => {
    assert.deepEqual(augmentationFor('resnet'), RESNET_AUGMENTATION);
    assert.deepEqual(RESNET_AUGMENTATION, { crop: 4, flip: true });
    assert.equal(augmentationFor('mlp'), null);
    assert.equal(augmentationFor('cnn'), null);
    assert.equal(augmentationFor('resnet', { crop: 0, flip: false }), null);
    assert.deepEqual(augmentationFor('cnn', { crop: 2, flip: false }), { crop: 2, flip: false });
    assert.throws(() => augmentationFor('mlp', { crop: -1, flip: true }), /crop/);
  });

  test('each example is its padded image cropped at its draw and flipped, as the naive definition', () => {
    const geometry = { size: 7, channels: 3 as const };
    const rng = createRng('pixels');
    const images = Uint8Array.from({ length: 6 * 7 * 7 * 3 }, () => rng.int(256));
    const examples = [3, 40, 41, 7, 1000, 5];
    for (const aug of [{ crop: 2, flip: true }, { crop: 3, flip: false }, { crop: 0, flip: true }]) {
      const out = preprocessAugmented(images, 6, geometry, aug, 'seed', 2, examples);
      examples.forEach((example, i) => {
        const want = reference(images.subarray(i * 147, (i + 1) * 147), 7, 3, aug.crop, augmentDraw(aug, 'seed', 2, example));
        assert.deepEqual(out.subarray(i * 147, (i + 1) * 147), want, `example ${example} with ${JSON.stringify(aug)}`);
      });
    }
    assert.deepEqual(preprocessAugmented(images, 6, geometry, { crop: 0, flip: false }, 's', 0, examples), preprocess(images, 6, undefined, geometry));
  });

  test('draws are a function of (seed, epoch, example) alone: not of the batch, uniform offsets, fair flips', () => {
    const aug = { crop: 4, flip: true };
    const geometry = { size: 12, channels: 1 as const };
    const images = Uint8Array.from({ length: 2 * 144 }, (_, i) => (i * 7) % 256);
    const pair = preprocessAugmented(images, 2, geometry, aug, 9, 1, [17, 23]);
    const alone = preprocessAugmented(images.subarray(144), 1, geometry, aug, 9, 1, [23]);
    assert.deepEqual(pair.subarray(144), alone, 'example 23 alike in either batch');
    assert.deepEqual(augmentDraw(aug, 9, 1, 23), augmentDraw(aug, 9, 1, 23));
    const differ = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
    const draws = (seed: number, epoch: number) => Array.from({ length: 50 }, (_, i) => augmentDraw(aug, seed, epoch, i));
    assert.ok(differ(draws(9, 1), draws(9, 2)), 'another epoch, other draws');
    assert.ok(differ(draws(9, 1), draws(10, 1)), 'another seed, other draws');
    const many = Array.from({ length: 3000 }, (_, i) => augmentDraw(aug, 'u', 0, i));
    for (const key of ['dy', 'dx'] as const) {
      const counts = new Array(9).fill(0);
      for (const d of many) counts[d[key]]++;
      assert.ok(counts.every((c) => c > 3000 / 9 * 0.8 && c < 3000 / 9 * 1.2), `${key} counts ${counts}`);
    }
    const flips = many.filter((d) => d.flip).length / many.length;
    assert.ok(flips > 0.45 && flips < 0.55, `flip rate ${flips}`);
  });

  test('training batches are augmented; validation examples never are', async () => {
    const data = rgbShapes(100, 'aug-val', 12);
    const base: TrainingRecipe = {
      ...{ model: 'mlp', hidden: [16], epochs: 1, minSteps: 0, batchSize: 90, checkpointEvery: 1000, shuffleWindow: 16384, backend: 'wasm' },
      // A learning rate so small the weights cannot move: the losses are the initial model's.
      ...{ learningRate: 1e-30, schedule: 'constant', weightDecay: 0, validationFraction: 0.1, patience: 0 },
    };
    const plain = await trainClassifier(data, base, { seed: 4 });
    const augmented = await trainClassifier(data, { ...base, augment: { crop: 4, flip: true } }, { seed: 4 });
    assert.notEqual(augmented.finalLoss, plain.finalLoss, 'the training batch differs');
    const held = holdOut(100, 0.1, 4).validation;
    const initial = initialClassifier([16], 4, 'mlp', { geometry: data.geometry, classes: 4 });
    const clean = await evaluateClassifier(initial, imageRows(data, held), { backend: 'wasm' });
    for (const run of [plain, augmented]) assert.ok(Math.abs(run.bestValidationLoss! - clean.loss) < 1e-5, `validation loss ${run.bestValidationLoss} vs ${clean.loss} unaugmented`);
  });
});
