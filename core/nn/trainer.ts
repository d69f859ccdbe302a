// The hand-written, checkpointable training loop of every model here (the classifier,
// classifier-train.ts; CLIP, activities/clip/train.ts). The model brings its forward pass and
// loss, initial weights, optimizer, validation loss and checkpoint codec (`TrainerModel`); the
// loop (trainer-loop.ts) owns the rest, the fair recipe included:
//  - a seeded validation subset of the examples is held out (validation.ts) and the loop trains
//    on the rest; after every epoch one batched pass measures the held-out loss, training stops
//    `patience` epochs after the lowest, and the model returned holds the best epoch's weights;
//  - each step's learning rate follows the schedule over the planned steps (schedule.ts), with
//    decoupled weight decay (adam.ts).
// One reproducibility contract:
//  - epoch e visits the training examples in shuffle.ts's order: permutation(count, createRng(`${seed}|epoch|${e}`))
//    when count <= shuffleWindow, else a shard-windowed shuffle; either way the batch at step s
//    depends only on (seed, s, data layout) and a resume needs just the step counter;
//  - Adam is our own (adam.ts, not tf.train.adam) so its whole state is {m, v, step}: the bias
//    corrections are recomputed in float64 from the step, instead of tf.train.adam's running
//    float32 products, which setWeights() re-derives with pow() and so would NOT restore
//    bit-exactly. Where it runs (host or device) follows the backend (adamPlacementFor);
//  - a checkpoint every `checkpointEvery` steps and after the last one, holding everything above
//    and early stopping's state (best weights and loss, epochs since the best, whether it stopped).
//  - a model's non-trained state (the ResNet's batch norm statistics, running-state.ts) lives in
//    variables beside the weights: each step's forward pass computes its next value, the loop
//    assigns it after the step; validation reads it; checkpoints and early stopping's best epoch
//    keep it with the weights.
// Given a deterministic backend (wasm single-threaded, cpu, native CPU), a run resumed from a
// checkpoint ends with weights (and state) bit-identical to an uninterrupted run's.
import type * as tf from '@tensorflow/tfjs';
import { adamPlacementFor, type AdamOptimizer, type AdamPlacement, type AdamState } from './adam.js';
import { initTfBackend, type BackendPreference } from './backend.js';
import { NO_EARLY_STOPPING, type CheckpointFields, type EarlyStoppingState } from './container.js';
import { createRunningState } from './running-state.js';
import type { LearningRateSchedule } from './schedule.js';
import { lossReader, trainSteps, type Loop } from './trainer-loop.js';
import { holdOut, type HoldOut } from './validation.js';

/** What `onCheckpoint` receives and `resume` accepts: `bytes` is the model's checkpoint encoding. */
export interface Checkpoint {
  /** Optimizer steps completed. */
  step: number;
  totalSteps: number;
  bytes: Uint8Array;
}

export class CheckpointMismatchError extends Error {
  readonly code = 'E_CHECKPOINT_MISMATCH';
}

/** The recipe fields the loop reads (both models' recipes have them). */
export interface LoopRecipe {
  epochs: number;
  minSteps: number;
  batchSize: number;
  learningRate: number;
  /** The learning rate over the planned steps (schedule.ts). */
  schedule: LearningRateSchedule;
  /** Decoupled (AdamW) weight decay per step, times the step's learning rate. */
  weightDecay: number;
  /** Held out from the examples for early stopping (validation.ts); 0: none. */
  validationFraction: number;
  /** Stop after this many epochs without a lower validation loss (0: never). */
  patience: number;
  checkpointEvery: number;
  shuffleWindow: number;
  backend: BackendPreference;
}

/** Examples the loop can index: `segments` (examples per shard) are the windowed shuffle's unit. */
export interface IndexedExamples {
  count: number;
  segments?: readonly number[];
}

export interface LoopProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  /** Loss of the latest step's batch. */
  loss: number;
}

export interface TrainerOptions<P> {
  seed: number | string;
  resume?: Checkpoint | null;
  onCheckpoint?: (c: Checkpoint) => Promise<void>;
  onProgress?: (p: P) => void;
  signal?: AbortSignal;
  /** Longest stretch of synchronous work before yielding to the event loop (default 25 ms). */
  yieldEveryMs?: number;
}

/** How a run went: its plan, its validation split and where early stopping ended it. */
export interface TrainingOutcome {
  /** Epochs x steps per epoch on the training examples, at least minSteps. */
  plannedSteps: number;
  /** Examples trained on (the rest were held out). */
  trainCount: number;
  /** The held-out examples, ascending (indices into the data). */
  validationIndices: Uint32Array;
  /** The epoch (counted from 1) training ended at: early stopping's, or the plan's last. */
  stoppedEpoch: number;
  stoppedEarly: boolean;
  /** The epoch whose weights the model holds (0 without a validation set: the last step's). */
  bestEpoch: number;
  /** Its validation loss (null without one). */
  bestValidationLoss: number | null;
}

export interface TrainerResult<M> extends TrainingOutcome {
  model: M;
  /** Optimizer steps taken (fewer than planned when early stopping ended the run). */
  steps: number;
  /** Loss of the final step's batch. */
  finalLoss: number;
  /** 0 for a fresh run. */
  resumedFromStep: number;
  /** The TF.js backend that ran the steps ('' when a finished checkpoint left nothing to run). */
  backend: string;
}

/** A checkpoint's content: the loop's fields and the model. */
export interface TrainerState<M, Run> extends CheckpointFields<Run> {
  model: M;
}

/** Where a batch falls: the step it is for (counted from 0) and that step's epoch. */
export interface BatchPosition {
  step: number;
  epoch: number;
}

/** The model's non-trained state during a training step (empty for models without one). */
export interface StepState {
  /** The current values (read-only for the forward pass). */
  tensors: readonly tf.Tensor[];
  /** Where the training forward pass pushes the next values (tf.keep'd), one per state tensor. */
  next: tf.Tensor[];
}

/** One batch at a time: load it on the host, then (inside tf.tidy) its loss as a function of the weights. */
export interface BatchLoss {
  load(indices: Uint32Array, at: BatchPosition): Promise<void>;
  lossFunction(state: StepState): (...weights: tf.Tensor[]) => tf.Scalar;
}

/** The held-out examples, loaded once: their mean loss under given weights in one batched forward pass. */
export interface ValidationSet {
  /** Call inside tf.tidy; `state`: the model's non-trained state (inference mode). */
  loss(weights: tf.Tensor[], state: readonly tf.Tensor[]): tf.Scalar;
  dispose(): void;
}

/** The model-specific parts of a training run. */
export interface TrainerModel<M extends { weights: Float32Array[] }, Run, O extends AdamOptimizer, P> {
  /** What a resumed run must match (compared as JSON). */
  run: Run;
  decode(bytes: Uint8Array): TrainerState<M, Run>;
  encode(state: TrainerState<M, Run>): Uint8Array;
  /** Further resume checks, after the fingerprint's. */
  checkResume?(state: TrainerState<M, Run>): void;
  initial(): M;
  check(model: M): void;
  /** The model with trained weights (and non-trained state, [] for models without) in place of `initial`'s. */
  withWeights(initial: M, weights: Float32Array[], state: Float32Array[]): M;
  shapes(initial: M): number[][];
  /** The model's non-trained state and its shapes (omitted: none). */
  state?(model: M): ModelState;
  createOptimizer(placement: AdamPlacement, shapes: number[][], initial: AdamState, learningRate: number, weightDecay: number): O;
  /** Batch buffers for `initial`'s inputs, `batchSize` rows. */
  batches(initial: M, batchSize: number): BatchLoss;
  /** The examples `indices` as a validation set (`batchSize`: the training batch, for losses that depend on it). */
  validation(initial: M, indices: Uint32Array, batchSize: number): Promise<ValidationSet>;
  /** The progress report from the loop's and the optimizer's state. */
  progress(base: LoopProgress, optimizer: O): P;
}

/** Non-trained state: values and shapes, in the model's order. */
export interface ModelState {
  values: Float32Array[];
  shapes: number[][];
}

const NO_STATE: ModelState = { values: [], shapes: [] };

/** The model of `base` with `floats` (its weights, then its state, as early stopping keeps them). */
function withFloats<M extends { weights: Float32Array[] }, Run, O extends AdamOptimizer, P>(model: TrainerModel<M, Run, O, P>, base: M, floats: Float32Array[]): M {
  const k = base.weights.length;
  return model.withWeights(base, floats.slice(0, k), floats.slice(k));
}

/** Throws unless `count` is a positive integer. */
export function checkExampleCount(count: number): void {
  if (!Number.isInteger(count) || count < 1) throw new Error(`training data count must be a positive integer, got ${count}`);
}

/** Steps per epoch and total optimizer steps (the planned steps) for a recipe on `count` training examples. */
export function trainingSteps(count: number, recipe: Pick<LoopRecipe, 'epochs' | 'minSteps' | 'batchSize'>) {
  const stepsPerEpoch = Math.ceil(count / recipe.batchSize);
  return { stepsPerEpoch, totalSteps: Math.max(recipe.epochs * stepsPerEpoch, recipe.minSteps) };
}

/** A run's split and step counts. */
export interface TrainingPlan {
  split: HoldOut;
  stepsPerEpoch: number;
  totalSteps: number;
}

/** The held-out split of `data` and the planned steps on the rest. */
export function trainingPlan(data: IndexedExamples, recipe: LoopRecipe, seed: number | string): TrainingPlan {
  checkExampleCount(data.count);
  const split = holdOut(data.count, recipe.validationFraction, seed, data.segments);
  return { split, ...trainingSteps(split.train.length, recipe) };
}

function resumeState<M extends { weights: Float32Array[] }, Run, O extends AdamOptimizer, P>(
  model: TrainerModel<M, Run, O, P>,
  resume: Checkpoint | null | undefined,
): TrainerState<M, Run> | null {
  if (!resume) return null;
  const start = model.decode(resume.bytes);
  if (start.step !== resume.step) {
    throw new CheckpointMismatchError(`checkpoint says step ${resume.step} but its bytes hold step ${start.step}`);
  }
  const expected = JSON.stringify(model.run);
  const found = JSON.stringify(start.run);
  if (expected !== found) throw new CheckpointMismatchError(`checkpoint belongs to a different run: it has ${found}, this run is ${expected}`);
  model.checkResume?.(start);
  return start;
}

/** Trains `model` on `data` from step 0 or `opts.resume`; see the file comment. */
export async function runTrainer<M extends { weights: Float32Array[] }, Run, O extends AdamOptimizer, P>(
  data: IndexedExamples,
  recipe: LoopRecipe,
  model: TrainerModel<M, Run, O, P>,
  opts: TrainerOptions<P>,
): Promise<TrainerResult<M>> {
  const plan = trainingPlan(data, recipe, opts.seed);
  const start = resumeState(model, opts.resume);
  opts.signal?.throwIfAborted();
  const stateOf = (m: M): ModelState => model.state?.(m) ?? NO_STATE;
  if (start && (start.step >= plan.totalSteps || start.early.stoppedEpoch > 0)) {
    const ended = { step: start.step, early: start.early, lastLoss: start.lastLoss };
    const floats = start.early.bestWeights ?? [...start.model.weights, ...stateOf(start.model).values];
    return { ...outcome(plan, ended), model: withFloats(model, start.model, floats), resumedFromStep: start.step, backend: '' };
  }

  const backend = await initTfBackend(recipe.backend);
  const initial = start ? start.model : model.initial();
  model.check(initial);
  const zeros = () => initial.weights.map((w) => new Float32Array(w.length));
  const optimizer = model.createOptimizer(
    adamPlacementFor(backend.backend, backend.gpu),
    model.shapes(initial),
    { weights: initial.weights, m: start ? start.adam.m : zeros(), v: start ? start.adam.v : zeros() },
    recipe.learningRate,
    recipe.weightDecay,
  );
  const losses = lossReader(start ? start.lastLoss : Number.NaN);
  let validation: ValidationSet | null = null;
  let running = null as ReturnType<typeof createRunningState> | null;
  try {
    const state = stateOf(initial);
    running = createRunningState(state.values, state.shapes);
    const held = plan.split.validation;
    validation = held.length > 0 ? await model.validation(initial, held, recipe.batchSize) : null;
    const early = start ? start.early : NO_EARLY_STOPPING;
    const loop: Loop<M, Run, O, P> = { ...plan, recipe, model, opts, optimizer, running, initial, losses, validation, early, step: start ? start.step : 0 };
    await trainSteps(loop);
    const ended = { step: loop.step, early: loop.early, lastLoss: losses.read() };
    const trained = withFloats(model, initial, loop.early.bestWeights ?? [...optimizer.state().weights, ...running.read()]);
    return { ...outcome(plan, ended), model: trained, resumedFromStep: start ? start.step : 0, backend: backend.backend };
  } finally {
    validation?.dispose();
    running?.dispose();
    losses.dispose();
    optimizer.dispose();
  }
}

/** The outcome of a run that ended at `ended.step` with early stopping's state `ended.early`. */
function outcome(plan: TrainingPlan, ended: { step: number; early: EarlyStoppingState; lastLoss: number }): TrainingOutcome & { steps: number; finalLoss: number } {
  const { early } = ended;
  return {
    steps: ended.step,
    finalLoss: ended.lastLoss,
    plannedSteps: plan.totalSteps,
    trainCount: plan.split.train.length,
    validationIndices: plan.split.validation,
    stoppedEpoch: early.stoppedEpoch || Math.ceil(ended.step / plan.stepsPerEpoch),
    stoppedEarly: early.stoppedEpoch > 0,
    bestEpoch: early.bestEpoch,
    bestValidationLoss: early.bestEpoch > 0 ? early.bestLoss : null,
  };
}
