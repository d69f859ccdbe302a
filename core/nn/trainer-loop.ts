// The steps of trainer.ts's loop: batches in the epoch's order over the training examples, the
// scheduled learning rate, the validation pass at each epoch's end with early stopping, and the
// checkpoints and progress reports (trainer.ts's file comment has the contract they keep).
import * as tf from '@tensorflow/tfjs';
import type { AdamOptimizer } from './adam.js';
import type { EarlyStoppingState } from './container.js';
import type { RunningState } from './running-state.js';
import { learningRateAt } from './schedule.js';
import { epochOrder } from './shuffle.js';
import type { Checkpoint, LoopRecipe, TrainerModel, TrainerOptions, TrainingPlan, ValidationSet } from './trainer.js';
import { afterEpoch } from './validation.js';

export interface Loop<M extends { weights: Float32Array[] }, Run, O extends AdamOptimizer, P> extends TrainingPlan {
  recipe: LoopRecipe;
  model: TrainerModel<M, Run, O, P>;
  opts: TrainerOptions<P>;
  optimizer: O;
  /** The model's non-trained state (empty for models without). */
  running: RunningState;
  initial: M;
  losses: LossReader;
  /** null without held-out examples. */
  validation: ValidationSet | null;
  early: EarlyStoppingState;
  /** Optimizer steps completed so far. */
  step: number;
}

/** The loop's state as a checkpoint. */
function snapshot<M extends { weights: Float32Array[] }, Run, O extends AdamOptimizer, P>(loop: Loop<M, Run, O, P>): Checkpoint {
  const { model, optimizer, totalSteps, step, early } = loop;
  const lastLoss = loop.losses.read();
  const { weights, m, v } = optimizer.state();
  const trained = model.withWeights(loop.initial, weights, loop.running.read());
  const state = { step, totalSteps, lastLoss, run: model.run, model: trained, adam: { iteration: step, m, v }, early };
  return { step, totalSteps, bytes: model.encode(state) };
}

/** Runs steps until the planned end or early stopping. */
export async function trainSteps<M extends { weights: Float32Array[] }, Run, O extends AdamOptimizer, P>(loop: Loop<M, Run, O, P>): Promise<void> {
  const { split, recipe, model, opts, optimizer, running, losses, stepsPerEpoch, totalSteps } = loop;
  const trainCount = split.train.length;
  const yieldEveryMs = opts.yieldEveryMs ?? 25;
  let lastYield = performance.now();
  let order = null as { epoch: number; order: Uint32Array } | null;
  const batchSize = recipe.batchSize;
  const batch = model.batches(loop.initial, batchSize);
  const examples = new Uint32Array(batchSize);
  while (loop.step < totalSteps && loop.early.stoppedEpoch === 0) {
    opts.signal?.throwIfAborted();
    const epoch = Math.floor(loop.step / stepsPerEpoch);
    if (order?.epoch !== epoch) order = { epoch, order: epochOrder(opts.seed, epoch, trainCount, split.segments, recipe.shuffleWindow) };
    const offset = (loop.step % stepsPerEpoch) * batchSize;
    const positions = order.order.subarray(offset, Math.min(offset + batchSize, trainCount));
    // Positions in the training examples -> indices into the data (the held-out ones skipped).
    for (let i = 0; i < positions.length; i++) examples[i] = split.train[positions[i]!]!;
    await batch.load(examples.subarray(0, positions.length), { step: loop.step, epoch });
    const rate = learningRateAt(recipe, loop.step, totalSteps);
    const t = loop.step + 1;
    const next: tf.Tensor[] = [];
    try {
      losses.set(
        tf.tidy(() => {
          const { value, grads } = tf.valueAndGrads(batch.lossFunction({ tensors: running.tensors(), next }))(optimizer.weightTensors());
          optimizer.apply(grads, t, rate);
          if (next.length > 0 || running.tensors().length > 0) running.assign(next);
          return value as tf.Scalar;
        }),
      );
    } finally {
      tf.dispose(next); // kept by the forward pass; only left here when the step failed
    }
    const step = ++loop.step;
    if (loop.validation && (step % stepsPerEpoch === 0 || step === totalSteps)) validateEpoch(loop, loop.validation, Math.ceil(step / stepsPerEpoch));
    const finished = step === totalSteps || loop.early.stoppedEpoch > 0;
    if (opts.onCheckpoint && (step % recipe.checkpointEvery === 0 || finished)) {
      await opts.onCheckpoint(snapshot(loop));
      lastYield = performance.now();
    }
    if (performance.now() - lastYield >= yieldEveryMs || finished) {
      opts.onProgress?.(model.progress({ step, totalSteps, epoch, loss: losses.read() }, optimizer));
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
  }
}

/** The held-out loss after epoch `epoch` (counted from 1), and early stopping's verdict on it. */
function validateEpoch<M extends { weights: Float32Array[] }, Run, O extends AdamOptimizer, P>(loop: Loop<M, Run, O, P>, validation: ValidationSet, epoch: number): void {
  const value = tf.tidy(() => validation.loss(loop.optimizer.weightTensors(), loop.running.tensors()));
  const loss = value.dataSync()[0]!;
  value.dispose();
  // The best epoch keeps its weights and, after them, its state.
  loop.early = afterEpoch(loop.early, epoch, loss, loop.recipe.patience, () => [...loop.optimizer.state().weights, ...loop.running.read()]);
}

/** The latest step's loss, kept on the device until someone reads it (reading syncs). */
export interface LossReader {
  set(loss: tf.Scalar): void;
  read(): number;
  dispose(): void;
}

export function lossReader(initial: number): LossReader {
  let pending = null as tf.Scalar | null;
  let value = initial;
  return {
    set(loss) {
      pending?.dispose();
      pending = loss;
    },
    read() {
      if (pending) {
        value = pending.dataSync()[0]!;
        pending.dispose();
        pending = null;
      }
      return value;
    },
    dispose: () => pending?.dispose(),
  };
}
