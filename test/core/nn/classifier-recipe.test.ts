// The classifier under the fair recipe (core/nn/classifier-train.ts with trainer.ts's loop): on a
// small real subset that overfits, early stopping keeps the epoch with the lowest held-out
// cross-entropy, and a run with cosine schedule, weight decay, a validation split and early
// stopping resumes from a checkpoint bit for bit.
// Run: node --import tsx --test test/core/nn/classifier-recipe.test.ts
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { loadSplit, locateFashionMnist, type ImageSet } from '../../../core/datasets/fashion-mnist.js';
import type { TrainingRecipe } from '../../../contracts/spec/sweep.js';
import { initTfBackend, type Tf } from '../../../core/nn/backend.js';
import { decodeCheckpoint, trainClassifier, type Checkpoint } from '../../../core/nn/classifier.js';
import { evaluateClassifier } from '../../../core/nn/metrics.js';

let tf: Tf;
let train: ImageSet;

before(async () => {
  ({ tf } = await initTfBackend('wasm'));
  const dir = await locateFashionMnist(join(process.cwd(), '.synthscale/data'));
  train = await loadSplit(dir, 'train');
});

const subset = (count: number): ImageSet => ({ images: train.images.subarray(0, count * 784), labels: train.labels.subarray(0, count), count, geometry: train.geometry });

/** Rows `indices` of `set`. */
function rows(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const images = new Uint8Array(indices.length * 784);
  const labels = new Uint8Array(indices.length);
  Array.from(indices).forEach((row, i) => {
    images.set(set.images.subarray(row * 784, (row + 1) * 784), i * 784);
    labels[i] = set.labels[row]!;
  });
  return { images, labels, count: indices.length, geometry: set.geometry };
}

function recipe(overrides: Partial<TrainingRecipe>): TrainingRecipe {
  return {
    ...{ model: 'mlp', hidden: [64], epochs: 40, minSteps: 0, batchSize: 50, learningRate: 0.01, checkpointEvery: 1000, shuffleWindow: 16384, backend: 'wasm' },
    ...{ schedule: 'cosine', weightDecay: 0.0001, validationFraction: 0.2, patience: 3 },
    ...overrides,
  };
}

describe('the fair recipe', () => {
  test('early stopping keeps the epoch with the lowest held-out cross-entropy', async () => {
    const data = subset(300); // 60 held out, 240 train: 5 steps per epoch
    const checkpoints: Checkpoint[] = [];
    const tensors = tf.memory().numTensors;
    const result = await trainClassifier(data, recipe({ checkpointEvery: 5 }), { seed: 4, onCheckpoint: async (c) => void checkpoints.push(c) });
    assert.equal(tf.memory().numTensors, tensors, 'the validation set is disposed with the run');
    assert.equal(result.trainCount, 240);
    assert.equal(result.validationIndices.length, 60);
    assert.equal(result.plannedSteps, 200);
    assert.equal(result.stoppedEarly, true, 'a 240-image MLP at lr 0.01 overfits within 40 epochs');
    assert.equal(result.stoppedEpoch, result.bestEpoch + 3);
    assert.equal(result.steps, 5 * result.stoppedEpoch);

    const heldOut = rows(data, result.validationIndices);
    const losses: number[] = [];
    for (const c of checkpoints.filter((c) => c.step % 5 === 0)) losses.push((await evaluateClassifier(decodeCheckpoint(c.bytes).model, heldOut)).loss);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    assert.equal(result.bestEpoch, best, `held-out losses by epoch: ${losses.map((l) => l.toFixed(4)).join(' ')}`);
    assert.ok(Math.abs(result.bestValidationLoss! - losses[best - 1]!) < 1e-4, `${result.bestValidationLoss} vs ${losses[best - 1]}`);
    assert.deepEqual(result.model.weights, decodeCheckpoint(checkpoints[best - 1]!.bytes).model.weights, "the model is the best epoch's");
    const final = await evaluateClassifier(result.model, heldOut);
    assert.ok(Math.abs(final.loss - losses[best - 1]!) < 1e-9);
  });

  for (const placement of ['device', 'host'] as const) {
    test(`resuming reproduces the run bit for bit: schedule, weight decay and early stopping (Adam on ${placement})`, async (t) => {
      process.env.SYNTHSCALE_ADAM = placement;
      t.after(() => delete process.env.SYNTHSCALE_ADAM);
      const data = subset(300);
      const r = recipe({ checkpointEvery: 7, patience: 2 });
      const full: Checkpoint[] = [];
      const uninterrupted = await trainClassifier(data, r, { seed: 'fair', onCheckpoint: async (c) => void full.push(c) });
      assert.equal(uninterrupted.stoppedEarly, true);
      // A checkpoint after the best epoch, before the stop: early stopping's state mid-count.
      const from = full.find((c) => {
        const early = decodeCheckpoint(c.bytes).early;
        return early.bestEpoch > 0 && early.epochsSinceBest > 0 && early.stoppedEpoch === 0;
      });
      assert.ok(from, 'a checkpoint between the best epoch and the stop');
      const after: Checkpoint[] = [];
      const resumed = await trainClassifier(data, r, { seed: 'fair', resume: { ...from, bytes: new Uint8Array(from.bytes) }, onCheckpoint: async (c) => void after.push(c) });
      const { resumedFromStep, ...same } = resumed;
      assert.equal(resumedFromStep, from.step);
      const { resumedFromStep: _, ...expected } = uninterrupted;
      assert.deepEqual(same, expected);
      assert.ok(Buffer.from(after.at(-1)!.bytes).equals(Buffer.from(full.at(-1)!.bytes)), 'the final checkpoints are byte-identical');

      const done = await trainClassifier(data, r, { seed: 'fair', resume: full.at(-1)! });
      assert.equal(done.steps, uninterrupted.steps);
      assert.equal(done.stoppedEarly, true);
      assert.deepEqual(done.model.weights, uninterrupted.model.weights, 'a stopped checkpoint finishes at once with the best weights');
    });
  }
});
