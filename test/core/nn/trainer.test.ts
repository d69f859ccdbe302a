// The trainer loop's fair recipe (core/nn/trainer.ts) on a toy model whose losses are known in
// closed form: the validation split, the cosine schedule the optimizer receives, decoupled weight
// decay, early stopping that keeps the best epoch, and exact resume of all of it.
// Run: node --import tsx --test test/core/nn/trainer.test.ts
import assert from 'node:assert/strict';
import type { Scalar } from '@tensorflow/tfjs';
import { before, describe, test } from 'node:test';
import { createAdam, type AdamOptimizer } from '../../../core/nn/adam.js';
import { initTfBackend, type Tf } from '../../../core/nn/backend.js';
import { readCheckpoint, writeCheckpoint, type CheckpointFormat } from '../../../core/nn/container.js';
import { learningRateAt } from '../../../core/nn/schedule.js';
import { runTrainer, type Checkpoint, type LoopProgress, type LoopRecipe, type TrainerModel, type TrainerState } from '../../../core/nn/trainer.js';
import { holdOut, validationCount } from '../../../core/nn/validation.js';
import { cellItems } from '../../../core/nn/cell-record.js';

let tf: Tf;
before(async () => {
  ({ tf } = await initTfBackend('wasm'));
});

interface Toy {
  weights: Float32Array[];
}

const FORMAT: CheckpointFormat = { magic: 'TOYC', version: 1, what: 'toy checkpoint', maxHeaderBytes: 4096 };
const W0 = Float32Array.from([1, -2, 3, -4]);
/** The toy's validation loss: (w[0] - TARGET)^2, lowest when training has moved w[0] down to TARGET. */
const TARGET = 0.25;

function recipe(overrides: Partial<LoopRecipe>): LoopRecipe {
  return {
    ...{ epochs: 10, minSteps: 0, batchSize: 10, learningRate: 0.1, schedule: 'constant', weightDecay: 0, validationFraction: 0.1, patience: 2 },
    ...{ checkpointEvery: 1000, shuffleWindow: 16384, backend: 'wasm' },
    ...overrides,
  };
}

/**
 * A 4-weight model: the training loss is `slope` * w[0] (a constant gradient, so Adam moves w[0]
 * down by about lr per step; slope 0: no gradient at all), the validation loss (w[0] - TARGET)^2.
 * Records the learning rates the optimizer got and the examples each batch loaded.
 */
function toyModel(slope = 1) {
  const rates: number[] = [];
  const loaded: number[] = [];
  const model: TrainerModel<Toy, { slope: number }, AdamOptimizer, LoopProgress> = {
    run: { slope },
    encode: (state) => writeCheckpoint(FORMAT, state, state.model.weights, { toy: true }),
    decode(bytes): TrainerState<Toy, { slope: number }> {
      const c = readCheckpoint(bytes, FORMAT, (h) => ({ run: h.run as { slope: number }, sizes: [4] }));
      return { step: c.step, totalSteps: c.totalSteps, lastLoss: c.lastLoss, run: c.read.run, model: { weights: c.weights }, adam: c.adam, early: c.early };
    },
    initial: () => ({ weights: [new Float32Array(W0)] }),
    check: () => {},
    withWeights: (_, weights) => ({ weights }),
    shapes: () => [[4]],
    createOptimizer(placement, shapes, initial, learningRate, weightDecay) {
      const inner = createAdam(placement, shapes, initial, learningRate, weightDecay);
      return { ...inner, apply: (grads, t, rate) => (rates.push(rate!), inner.apply(grads, t, rate)) };
    },
    batches: () => ({
      load: async (indices) => void loaded.push(...indices),
      lossFunction: () => (w) => tf.mul(tf.slice(w!, [0], [1]).sum(), slope) as Scalar,
    }),
    validation: async () => ({ loss: (w) => tf.square(tf.sub(tf.slice(w[0]!, [0], [1]).sum(), TARGET)) as Scalar, dispose() {} }),
    progress: (base) => base,
  };
  return { model, rates, loaded };
}

const DATA = { count: 20 }; // 2 held out, 18 train: 2 steps per epoch at batch 10

/** Weights of each epoch-end checkpoint (checkpointEvery = steps per epoch), by epoch. */
function epochWeights(checkpoints: Checkpoint[], decode: (b: Uint8Array) => TrainerState<Toy, unknown>, stepsPerEpoch: number): Map<number, Float32Array> {
  return new Map(checkpoints.filter((c) => c.step % stepsPerEpoch === 0).map((c) => [c.step / stepsPerEpoch, decode(c.bytes).model.weights[0]!]));
}

describe('validation split', () => {
  test('round(N x fraction) held out (at least 1, never all), seeded, disjoint from training, shard segments kept', () => {
    assert.equal(validationCount(1000, 0.1), 100);
    assert.equal(validationCount(20, 0.01), 1);
    assert.equal(validationCount(20, 0), 0);
    assert.equal(validationCount(1, 0.5), 0);
    const a = holdOut(103, 0.1, 7, [50, 50, 3]);
    assert.equal(a.validation.length, 10);
    assert.equal(a.train.length, 93);
    const all = [...a.train, ...a.validation].sort((x, y) => x - y);
    assert.deepEqual(all, Array.from({ length: 103 }, (_, i) => i));
    assert.deepEqual([...a.validation], [...a.validation].sort((x, y) => x - y));
    const perSegment = [0, 50, 100].map((start, s) => [50, 50, 3][s]! - a.validation.filter((i) => i >= start && i < start + [50, 50, 3][s]!).length);
    assert.deepEqual(a.segments, perSegment.filter((n) => n > 0));
    assert.deepEqual(holdOut(103, 0.1, 7).validation, a.validation, 'the same seed holds out the same examples');
    assert.notDeepEqual(holdOut(103, 0.1, 8).validation, a.validation, 'another seed, others');
    assert.deepEqual([...holdOut(5, 0, 1).train], [0, 1, 2, 3, 4]);
  });

  test('training never loads a held-out example; items.json names them', async () => {
    const toy = toyModel();
    const result = await runTrainer(DATA, recipe({ epochs: 3, patience: 0 }), toy.model, { seed: 'split' });
    assert.equal(result.trainCount, 18);
    assert.equal(result.validationIndices.length, 2);
    assert.equal(toy.loaded.length, 3 * 18, 'every training example once per epoch');
    for (const i of result.validationIndices) assert.ok(!toy.loaded.includes(i), `held-out example ${i} was trained on`);
    const items = cellItems({ manifestUri: 'file:///m.json', size: 15, offset: 30, mix: [{ manifestUri: 'file:///s.json', count: 5 }] }, result.validationIndices);
    assert.deepEqual(items, {
      parts: [
        { manifestUri: 'file:///m.json', offset: 30, count: 15 },
        { manifestUri: 'file:///s.json', offset: 0, count: 5 },
      ],
      count: 20,
      validation: [...result.validationIndices],
    });
  });
});

describe('schedule and weight decay', () => {
  test('cosine: step k of T runs at lr x 0.5(1 + cos(pi k / T)), from lr down towards 0; constant stays at lr', async () => {
    const toy = toyModel();
    const r = recipe({ schedule: 'cosine', epochs: 6, patience: 0, validationFraction: 0 }); // 20 examples: 2 steps per epoch, T = 12
    const result = await runTrainer(DATA, r, toy.model, { seed: 'cos' });
    assert.equal(result.plannedSteps, 12);
    assert.equal(toy.rates.length, 12);
    toy.rates.forEach((rate, k) => assert.equal(rate, 0.1 * 0.5 * (1 + Math.cos((Math.PI * k) / 12)), `step ${k}`));
    assert.equal(toy.rates[0], 0.1);
    assert.ok(Math.abs(toy.rates[6]! - 0.05) < 1e-15, 'half way: half the rate');
    assert.ok(toy.rates.every((rate, k) => k === 0 || rate < toy.rates[k - 1]!), 'decreasing');
    assert.ok(toy.rates.at(-1)! > 0 && toy.rates.at(-1)! < 0.1 * 0.02);
    assert.deepEqual(
      Array.from({ length: 5 }, (_, k) => learningRateAt({ learningRate: 0.1, schedule: 'constant' }, k, 12)),
      [0.1, 0.1, 0.1, 0.1, 0.1],
    );
  });

  test('weight decay with zero gradient shrinks every weight by (1 - lr_k wd) at each step', async () => {
    const toy = toyModel(0);
    const r = recipe({ schedule: 'cosine', weightDecay: 0.5, epochs: 4, patience: 0, validationFraction: 0 });
    const result = await runTrainer(DATA, r, toy.model, { seed: 'decay' });
    const factor = toy.rates.reduce((f, rate) => f * (1 - rate * 0.5), 1);
    result.model.weights[0]!.forEach((w, i) => assert.ok(Math.abs(w - W0[i]! * factor) <= 1e-6 * Math.abs(W0[i]!), `w[${i}] = ${w}, expected ${W0[i]! * factor}`));
  });
});

describe('early stopping', () => {
  test('stops `patience` epochs after the lowest validation loss and returns that epoch\'s weights', async () => {
    const toy = toyModel();
    const checkpoints: Checkpoint[] = [];
    const r = recipe({ checkpointEvery: 2 });
    const result = await runTrainer(DATA, r, toy.model, { seed: 'stop', onCheckpoint: async (c) => void checkpoints.push(c) });
    const byEpoch = epochWeights(checkpoints, toy.model.decode, 2);
    const losses = new Map([...byEpoch].map(([epoch, w]) => [epoch, (w[0]! - TARGET) ** 2]));
    const best = [...losses].reduce((a, b) => (b[1] < a[1] ? b : a));
    assert.ok(best[0] > 1 && best[0] < 10, `the toy's best epoch ${best[0]} is inside the run`);
    assert.equal(result.bestEpoch, best[0]);
    assert.ok(Math.abs(result.bestValidationLoss! - best[1]) < 1e-6);
    assert.equal(result.stoppedEarly, true);
    assert.equal(result.stoppedEpoch, best[0] + 2);
    assert.equal(result.steps, result.stoppedEpoch * 2, 'no step after the stop');
    assert.equal(result.plannedSteps, 20);
    assert.deepEqual(result.model.weights[0], byEpoch.get(best[0]), "the best epoch's weights, not the last");
    assert.notDeepEqual(byEpoch.get(result.stoppedEpoch), byEpoch.get(best[0]));
    assert.equal(checkpoints.at(-1)!.step, result.steps, 'a checkpoint marks the stop');
  });

  test('patience 0 trains every planned step and still keeps the best epoch', async () => {
    const result = await runTrainer(DATA, recipe({ patience: 0 }), toyModel().model, { seed: 'stop' });
    assert.equal(result.steps, 20);
    assert.equal(result.stoppedEarly, false);
    assert.equal(result.stoppedEpoch, 10);
    assert.ok(result.bestEpoch > 1 && result.bestEpoch < 10);
  });

  test('resuming from any checkpoint reproduces the run bit for bit, early stopping included', async () => {
    const r = recipe({ schedule: 'cosine', weightDecay: 0.01, checkpointEvery: 1, epochs: 12 });
    const full: Checkpoint[] = [];
    const toy = toyModel();
    const uninterrupted = await runTrainer(DATA, r, toy.model, { seed: 'resume', onCheckpoint: async (c) => void full.push(c) });
    assert.equal(uninterrupted.stoppedEarly, true);
    // Every checkpoint: mid-epoch, at an epoch end, after the best epoch, the stop itself.
    for (const from of full) {
      const after: Checkpoint[] = [];
      const resumed = await runTrainer(DATA, r, toyModel().model, { seed: 'resume', resume: from, onCheckpoint: async (c) => void after.push(c) });
      const { backend: _a, resumedFromStep: _b, ...same } = resumed;
      const { backend: _c, resumedFromStep: _d, ...expected } = uninterrupted;
      assert.deepEqual(same, expected, `resumed at step ${from.step}`);
      assert.deepEqual(after.map((c) => c.step), full.filter((c) => c.step > from.step).map((c) => c.step));
      after.forEach((c) => assert.ok(Buffer.from(c.bytes).equals(Buffer.from(full.find((f) => f.step === c.step)!.bytes)), `checkpoint ${c.step} after resuming at ${from.step}`));
    }
    const state = toy.model.decode(full.at(-1)!.bytes);
    assert.equal(state.early.stoppedEpoch, uninterrupted.stoppedEpoch);
    assert.equal(state.early.bestEpoch, uninterrupted.bestEpoch);
    assert.deepEqual(state.early.bestWeights, uninterrupted.model.weights);
  });
});
