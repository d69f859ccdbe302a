// The hand-written, checkpointable training loop of every model here (the classifier,
// classifier-train.ts; CLIP, activities/clip/train.ts). The model brings its forward pass and
// loss, initial weights, optimizer and checkpoint codec (`TrainerModel`); the loop owns the rest,
// with one reproducibility contract:
//  - epoch e visits the examples in shuffle.ts's order: permutation(count, createRng(`${seed}|epoch|${e}`))
//    when count <= shuffleWindow, else a shard-windowed shuffle; either way the batch at step s
//    depends only on (seed, s, data layout) and a resume needs just the step counter;
//  - Adam is our own (adam.ts, not tf.train.adam) so its whole state is {m, v, step}: the bias
//    corrections are recomputed in float64 from the step, instead of tf.train.adam's running
//    float32 products, which setWeights() re-derives with pow() and so would NOT restore
//    bit-exactly. Where it runs (host or device) follows the backend (adamPlacementFor);
//  - a checkpoint every `checkpointEvery` steps and after the last one, holding everything above.
// Given a deterministic backend (wasm single-threaded, cpu, native CPU), a run resumed from a
// checkpoint ends with weights bit-identical to an uninterrupted run's.
import * as tf from '@tensorflow/tfjs';
import { adamPlacementFor, type AdamOptimizer, type AdamPlacement, type AdamState } from './adam.js';
import { initTfBackend, type BackendPreference } from './backend.js';
import type { CheckpointFields } from './container.js';
import { epochOrder } from './shuffle.js';

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

export interface TrainerResult<M> {
  model: M;
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

/** One batch at a time: load it on the host, then (inside tf.tidy) its loss as a function of the weights. */
export interface BatchLoss {
  load(indices: Uint32Array): Promise<void>;
  lossFunction(): (...weights: tf.Tensor[]) => tf.Scalar;
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
  /** The model with trained weights in place of `initial`'s. */
  withWeights(initial: M, weights: Float32Array[]): M;
  shapes(initial: M): number[][];
  createOptimizer(placement: AdamPlacement, shapes: number[][], initial: AdamState, learningRate: number): O;
  /** Batch buffers for `initial`'s inputs, `batchSize` rows. */
  batches(initial: M, batchSize: number): BatchLoss;
  /** The progress report from the loop's and the optimizer's state. */
  progress(base: LoopProgress, optimizer: O): P;
}

/** Throws unless `count` is a positive integer. */
export function checkExampleCount(count: number): void {
  if (!Number.isInteger(count) || count < 1) throw new Error(`training data count must be a positive integer, got ${count}`);
}

/** Steps per epoch and total optimizer steps for a recipe on `count` examples. */
export function trainingSteps(count: number, recipe: Pick<LoopRecipe, 'epochs' | 'minSteps' | 'batchSize'>) {
  const stepsPerEpoch = Math.ceil(count / recipe.batchSize);
  return { stepsPerEpoch, totalSteps: Math.max(recipe.epochs * stepsPerEpoch, recipe.minSteps) };
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
  const { stepsPerEpoch, totalSteps } = trainingSteps(data.count, recipe);
  const start = resumeState(model, opts.resume);
  opts.signal?.throwIfAborted();
  if (start && start.step >= totalSteps) {
    return { model: start.model, steps: start.step, finalLoss: start.lastLoss, resumedFromStep: start.step, backend: '' };
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
  );
  const losses = lossReader(start ? start.lastLoss : Number.NaN);
  const loop: Loop<M, Run, O, P> = { data, recipe, model, opts, optimizer, initial, losses, stepsPerEpoch, totalSteps, step: start ? start.step : 0 };
  try {
    await trainSteps(loop);
    const finalLoss = losses.read();
    const trained = model.withWeights(initial, optimizer.state().weights);
    return { model: trained, steps: loop.step, finalLoss, resumedFromStep: start ? start.step : 0, backend: backend.backend };
  } finally {
    losses.dispose();
    optimizer.dispose();
  }
}

interface Loop<M extends { weights: Float32Array[] }, Run, O extends AdamOptimizer, P> {
  data: IndexedExamples;
  recipe: LoopRecipe;
  model: TrainerModel<M, Run, O, P>;
  opts: TrainerOptions<P>;
  optimizer: O;
  initial: M;
  losses: LossReader;
  stepsPerEpoch: number;
  totalSteps: number;
  /** Optimizer steps completed so far. */
  step: number;
}

/** The loop's state as a checkpoint. */
function snapshot<M extends { weights: Float32Array[] }, Run, O extends AdamOptimizer, P>(loop: Loop<M, Run, O, P>): Checkpoint {
  const { model, optimizer, totalSteps, step } = loop;
  const lastLoss = loop.losses.read();
  const { weights, m, v } = optimizer.state();
  const state = { step, totalSteps, lastLoss, run: model.run, model: model.withWeights(loop.initial, weights), adam: { iteration: step, m, v } };
  return { step, totalSteps, bytes: model.encode(state) };
}

async function trainSteps<M extends { weights: Float32Array[] }, Run, O extends AdamOptimizer, P>(loop: Loop<M, Run, O, P>): Promise<void> {
  const { data, recipe, model, opts, optimizer, losses, stepsPerEpoch, totalSteps } = loop;
  const yieldEveryMs = opts.yieldEveryMs ?? 25;
  let lastYield = performance.now();
  let order = null as { epoch: number; order: Uint32Array } | null;
  const batchSize = recipe.batchSize;
  const batch = model.batches(loop.initial, batchSize);
  while (loop.step < totalSteps) {
    opts.signal?.throwIfAborted();
    const epoch = Math.floor(loop.step / stepsPerEpoch);
    if (order?.epoch !== epoch) order = { epoch, order: epochOrder(opts.seed, epoch, data.count, data.segments, recipe.shuffleWindow) };
    const offset = (loop.step % stepsPerEpoch) * batchSize;
    await batch.load(order.order.subarray(offset, Math.min(offset + batchSize, data.count)));
    const t = loop.step + 1;
    losses.set(
      tf.tidy(() => {
        const { value, grads } = tf.valueAndGrads(batch.lossFunction())(optimizer.weightTensors());
        optimizer.apply(grads, t);
        return value as tf.Scalar;
      }),
    );
    const step = ++loop.step;
    if (opts.onCheckpoint && (step % recipe.checkpointEvery === 0 || step === totalSteps)) {
      await opts.onCheckpoint(snapshot(loop));
      lastYield = performance.now();
    }
    if (performance.now() - lastYield >= yieldEveryMs || step === totalSteps) {
      opts.onProgress?.(model.progress({ step, totalSteps, epoch, loss: losses.read() }, optimizer));
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
  }
}

/** The latest step's loss, kept on the device until someone reads it (reading syncs). */
interface LossReader {
  set(loss: tf.Scalar): void;
  read(): number;
  dispose(): void;
}

function lossReader(initial: number): LossReader {
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
