// The classifier trained in every sweep cell, trained with Adam on softmax cross-entropy by a
// hand-written, checkpointable loop. Two architectures (`arch`):
//  - 'mlp': 784 -> dense ReLU layers of widths `hidden` -> 10 logits;
//  - 'cnn': 28x28x1 -> conv 3x3 (16, 'same') -> ReLU -> maxPool 2 -> conv 3x3 (32, 'same') ->
//    ReLU -> maxPool 2 -> flatten (7*7*32 = 1568) -> dense ReLU layers of widths `hidden` -> 10.
//    Pooling comes after the ReLU on purpose: wasm's MaxPoolGrad (tfjs 4.22) misroutes the gradient
//    of all-negative windows, which cannot occur on ReLU outputs (>= 0); an all-zero window's
//    gradient lands on an element whose ReLU derivative is 0, on every backend alike.
// Weights are always a flat list of Float32Arrays whose shapes follow from (arch, hidden).
//
// Reproducibility contract:
//  - initial weights come from createRng(`${seed}|init`) (Glorot-uniform kernels, zero biases),
//    never from TF.js's RNG;
//  - epoch e visits the examples in shuffle.ts's order: permutation(count, createRng(`${seed}|epoch|${e}`))
//    when count <= shuffleWindow, else a shard-windowed shuffle; either way the batch at step s
//    depends only on (seed, s, data layout) and a resume needs just the step counter;
//  - Adam is our own (adam.ts, not tf.train.adam) so its whole state is {m, v, step}: the bias
//    corrections are recomputed in float64 from the step, instead of tf.train.adam's running
//    float32 products, which setWeights() re-derives with pow() and so would NOT restore
//    bit-exactly.
// Given a deterministic backend (wasm single-threaded, cpu), a run resumed from a checkpoint
// ends with weights bit-identical to an uninterrupted run's.
import * as tf from '@tensorflow/tfjs';
import { IMAGE_PIXELS } from '../datasets/fashion-mnist.js';
import { createRng } from '../rng.js';
import { epochOrder as shuffledEpoch } from './shuffle.js';
import { ADAM, adamPlacementFor, createAdam } from './adam.js';
import { initTfBackend } from './backend.js';
import { CorruptModelError, readContainer, readFloatSections, writeContainer } from './container.js';

export type ModelArch = 'mlp' | 'cnn';

/** What training reads of a sweep's recipe (contracts' TrainingRecipe has this shape; core cannot import it). */
export interface TrainingRecipe {
  model: ModelArch;
  hidden: number[];
  epochs: number;
  minSteps: number;
  batchSize: number;
  learningRate: number;
  checkpointEvery: number;
  shuffleWindow: number;
  backend: 'auto' | 'wasm' | 'cpu' | 'tensorflow';
}
export const MODEL_ARCHS: readonly ModelArch[] = ['mlp', 'cnn'];
export const NUM_CLASSES = 10;
export const IMAGE_SIDE = 28;
/** The cnn's conv stack: 3x3 'same' convolutions with these filter counts, each ReLU + maxPool 2. */
export const CNN_FILTERS = [16, 32] as const;
const CNN_KERNEL = 3;
/** 7 * 7 * 32: the flattened conv features the cnn's dense layers see. */
export const CNN_FEATURES = (IMAGE_SIDE / 2 ** CNN_FILTERS.length) ** 2 * CNN_FILTERS[CNN_FILTERS.length - 1]!;
export const INPUT_SIZE = IMAGE_PIXELS;
export const MODEL_FORMAT_VERSION = 1;
/** 2: the run fingerprint holds shuffleWindow. */
export const CHECKPOINT_FORMAT_VERSION = 2;

/** Generous sanity bounds for untrusted headers (the spec allows <= 4 layers of <= 4096). */
const MAX_LAYERS = 16;
const MAX_WIDTH = 65536;
const MAX_PARAMS = 1 << 28;
const MAX_HEADER_BYTES = 1 << 16;

/** A trained model as plain data (no tensors: safe to keep, compare, serialize). */
export interface SerializedClassifier {
  format: typeof MODEL_FORMAT_VERSION;
  arch: ModelArch;
  inputSize: number;
  classes: number;
  hidden: number[];
  /**
   * [kernel0, bias0, kernel1, bias1, ...]; a dense kernel is row-major [fanIn, fanOut], a conv
   * kernel (cnn: the first two pairs) row-major [KH, KW, inChannels, filters]. See `modelShapes`.
   */
  weights: Float32Array[];
}

/** What `onCheckpoint` receives and `resume` accepts: `bytes` is `encodeCheckpoint`'s output. */
export interface Checkpoint {
  /** Optimizer steps completed. */
  step: number;
  totalSteps: number;
  bytes: Uint8Array;
}

/** Decoded checkpoint content. */
export interface CheckpointState {
  step: number;
  totalSteps: number;
  /** Loss of the last completed step's batch (NaN before the first step). */
  lastLoss: number;
  /** The run configuration the checkpoint belongs to; a resume must match it. */
  run: RunFingerprint;
  model: SerializedClassifier;
  /** Adam slots, one per weight tensor, same order and sizes as `model.weights`. */
  adam: { iteration: number; m: Float32Array[]; v: Float32Array[] };
}

export interface RunFingerprint {
  seed: string;
  count: number;
  hidden: number[];
  epochs: number;
  minSteps: number;
  batchSize: number;
  learningRate: number;
  shuffleWindow: number;
}

/** Training examples held in memory. */
export interface TrainingData {
  /** count * 784 grayscale bytes. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/**
 * Training examples read batch by batch (e.g. from shards, activities/shards/stream.ts), so memory
 * does not grow with count. `segments` (examples per shard, summing to count) are the unit of the
 * windowed shuffle (shuffle.ts) once count exceeds the recipe's shuffleWindow.
 */
export interface TrainingStream {
  count: number;
  segments?: readonly number[];
  /** Writes the pixels (row i at i * 784) and labels of examples `indices` into the buffers. */
  gather(indices: ArrayLike<number>, images: Uint8Array, labels: Uint8Array): void | Promise<void>;
}

function asStream(data: TrainingData | TrainingStream): TrainingStream {
  if ('gather' in data) return data;
  checkData(data);
  return {
    count: data.count,
    gather(indices, images, labels) {
      for (let i = 0; i < indices.length; i++) {
        const index = indices[i]!;
        images.set(data.images.subarray(index * INPUT_SIZE, (index + 1) * INPUT_SIZE), i * INPUT_SIZE);
        labels[i] = data.labels[index]!;
      }
    },
  };
}

export interface TrainProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  /** Loss of the latest step's batch. */
  loss: number;
}

export interface TrainOptions {
  seed: number | string;
  resume?: Checkpoint | null;
  onCheckpoint?: (c: Checkpoint) => Promise<void>;
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
  /** Longest stretch of synchronous work before yielding to the event loop (default 25 ms). */
  yieldEveryMs?: number;
}

export interface TrainResult {
  model: SerializedClassifier;
  steps: number;
  /** Loss of the final step's batch (mean softmax cross-entropy, natural log). */
  finalLoss: number;
  /** 0 for a fresh run. */
  resumedFromStep: number;
}

export { CorruptModelError };

export class CheckpointMismatchError extends Error {
  readonly code = 'E_CHECKPOINT_MISMATCH';
}

// --- preprocessing ----------------------------------------------------------------------------

const PIXEL_SCALE = new Float32Array(256).map((_, i) => i / 255);

/**
 * Pixels -> float32 in [0, 1] (x / 255), the one preprocessing used by training and inference.
 * With `indices`, gathers those images (in that order); otherwise images [0, count).
 */
export function preprocess(images: Uint8Array, count: number, indices?: ArrayLike<number>): Float32Array {
  const n = indices ? indices.length : count;
  const out = new Float32Array(n * INPUT_SIZE);
  for (let r = 0; r < n; r++) {
    const src = (indices ? indices[r]! : r) * INPUT_SIZE;
    if (src + INPUT_SIZE > images.length) throw new RangeError(`image ${src / INPUT_SIZE} is out of range`);
    const dst = r * INPUT_SIZE;
    for (let i = 0; i < INPUT_SIZE; i++) out[dst + i] = PIXEL_SCALE[images[src + i]!]!;
  }
  return out;
}

// --- model construction -----------------------------------------------------------------------

/** Weight shapes of an architecture: conv kernels/biases (cnn) then dense kernels/biases. */
export function modelShapes(arch: ModelArch, hidden: readonly number[]): number[][] {
  if (arch === 'mlp') return weightShapes(hidden);
  if (arch !== 'cnn') throw new Error(`unsupported model arch '${String(arch)}'`);
  const shapes: number[][] = [];
  let channels = 1;
  for (const filters of CNN_FILTERS) {
    shapes.push([CNN_KERNEL, CNN_KERNEL, channels, filters], [filters]);
    channels = filters;
  }
  return [...shapes, ...weightShapes(hidden, CNN_FEATURES)];
}

/** MLP shapes: [[784, h0], [h0], [h0, h1], [h1], ..., [hLast, 10], [10]]. */
export function weightShapes(hidden: readonly number[], inputSize = INPUT_SIZE, classes = NUM_CLASSES): number[][] {
  const widths = [inputSize, ...hidden, classes];
  const shapes: number[][] = [];
  for (let i = 0; i + 1 < widths.length; i++) shapes.push([widths[i]!, widths[i + 1]!], [widths[i + 1]!]);
  return shapes;
}

/**
 * Glorot-uniform kernels and zero biases from createRng(`${seed}|init`). A conv kernel
 * [KH, KW, C, F] has fanIn KH*KW*C and fanOut KH*KW*F (as Keras).
 */
export function initialClassifier(hidden: readonly number[], seed: number | string, arch: ModelArch = 'mlp'): SerializedClassifier {
  const rng = createRng(`${seed}|init`);
  const weights = modelShapes(arch, hidden).map((shape) => {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (shape.length >= 2) {
      const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
      const limit = Math.sqrt(6 / (receptive * (shape[shape.length - 2]! + shape[shape.length - 1]!)));
      for (let i = 0; i < values.length; i++) values[i] = (2 * rng.uniform() - 1) * limit;
    }
    return values;
  });
  return { format: MODEL_FORMAT_VERSION, arch, inputSize: INPUT_SIZE, classes: NUM_CLASSES, hidden: [...hidden], weights };
}

/**
 * The TF.js layers MLP for `model` (dense ReLU hidden layers, linear logits) with its weights
 * loaded. The caller owns it: call `.dispose()`.
 */
export function toLayersModel(model: SerializedClassifier): tf.Sequential {
  checkClassifier(model);
  if (model.arch !== 'mlp') throw new Error(`toLayersModel builds MLPs only; this model is a ${model.arch} (use classifierLogits)`);
  const layers = tf.sequential();
  const widths = [...model.hidden, model.classes];
  widths.forEach((units, i) => {
    layers.add(
      tf.layers.dense({
        units,
        activation: i < model.hidden.length ? 'relu' : 'linear',
        kernelInitializer: 'zeros',
        ...(i === 0 ? { inputShape: [model.inputSize] } : {}),
      }),
    );
  });
  const shapes = weightShapes(model.hidden, model.inputSize, model.classes);
  // The layer variables take over the data (ref-counted); the temporary tensors can go.
  tf.tidy(() => layers.setWeights(model.weights.map((w, i) => tf.tensor(w, shapes[i]))));
  return layers;
}

// --- training ---------------------------------------------------------------------------------

/** Steps per epoch and total optimizer steps for a recipe on `count` examples. */
export function trainingSteps(count: number, recipe: Pick<TrainingRecipe, 'epochs' | 'minSteps' | 'batchSize'>) {
  const stepsPerEpoch = Math.ceil(count / recipe.batchSize);
  return { stepsPerEpoch, totalSteps: Math.max(recipe.epochs * stepsPerEpoch, recipe.minSteps) };
}

export async function trainClassifier(source: TrainingData | TrainingStream, recipe: TrainingRecipe, opts: TrainOptions): Promise<TrainResult> {
  const data = asStream(source);
  if (!Number.isInteger(data.count) || data.count < 1) throw new Error(`training data count must be a positive integer, got ${data.count}`);
  const arch: ModelArch = recipe.model;
  if (!MODEL_ARCHS.includes(arch)) throw new Error(`unsupported model '${String(recipe.model)}'`);
  const { stepsPerEpoch, totalSteps } = trainingSteps(data.count, recipe);
  const run: RunFingerprint = {
    seed: String(opts.seed),
    count: data.count,
    hidden: [...recipe.hidden],
    epochs: recipe.epochs,
    minSteps: recipe.minSteps,
    batchSize: recipe.batchSize,
    learningRate: recipe.learningRate,
    shuffleWindow: recipe.shuffleWindow,
  };

  let start: CheckpointState | null = null;
  if (opts.resume) {
    start = decodeCheckpoint(opts.resume.bytes);
    if (start.step !== opts.resume.step) {
      throw new CheckpointMismatchError(`checkpoint says step ${opts.resume.step} but its bytes hold step ${start.step}`);
    }
    const expected = JSON.stringify(run);
    const found = JSON.stringify(start.run);
    if (expected !== found) {
      throw new CheckpointMismatchError(`checkpoint belongs to a different run: it has ${found}, this run is ${expected}`);
    }
    if (start.model.arch !== arch) {
      throw new CheckpointMismatchError(`checkpoint holds a '${start.model.arch}' model, this run trains a '${arch}'`);
    }
  }
  opts.signal?.throwIfAborted();
  if (start && start.step >= totalSteps) {
    return { model: start.model, steps: start.step, finalLoss: start.lastLoss, resumedFromStep: start.step };
  }

  const backend = await initTfBackend(recipe.backend);
  const initial = start ? start.model : initialClassifier(recipe.hidden, opts.seed, arch);
  checkClassifier(initial);
  const shapes = modelShapes(arch, recipe.hidden);
  const zeros = () => initial.weights.map((w) => new Float32Array(w.length));
  const optimizer = createAdam(
    adamPlacementFor(backend.backend, backend.gpu),
    shapes,
    { weights: initial.weights, m: start ? start.adam.m : zeros(), v: start ? start.adam.v : zeros() },
    recipe.learningRate,
  );

  let step = start ? start.step : 0;
  let lastLoss = null as tf.Scalar | null;
  let lastLossValue = start ? start.lastLoss : Number.NaN;
  const readLoss = () => {
    if (lastLoss) {
      lastLossValue = lastLoss.dataSync()[0]!;
      lastLoss.dispose();
      lastLoss = null;
    }
    return lastLossValue;
  };
  const modelWith = (weights: Float32Array[]): SerializedClassifier => ({ ...initial, hidden: [...recipe.hidden], weights });
  const snapshot = (): Checkpoint => {
    const loss = readLoss();
    const { weights, m, v } = optimizer.state();
    const state: CheckpointState = { step, totalSteps, lastLoss: loss, run, model: modelWith(weights), adam: { iteration: step, m, v } };
    return { step, totalSteps, bytes: encodeCheckpoint(state) };
  };

  const yieldEveryMs = opts.yieldEveryMs ?? 25;
  let lastYield = performance.now();
  let epochOrder = null as { epoch: number; order: Uint32Array } | null;
  const batchSize = recipe.batchSize;
  const oneHot = new Float32Array(batchSize * NUM_CLASSES);
  const batchImages = new Uint8Array(batchSize * INPUT_SIZE);
  const batchLabels = new Uint8Array(batchSize);
  try {
    while (step < totalSteps) {
      opts.signal?.throwIfAborted();
      const epoch = Math.floor(step / stepsPerEpoch);
      if (epochOrder?.epoch !== epoch) {
        epochOrder = { epoch, order: shuffledEpoch(opts.seed, epoch, data.count, data.segments, recipe.shuffleWindow) };
      }
      const offset = (step % stepsPerEpoch) * batchSize;
      const indices = epochOrder.order.subarray(offset, Math.min(offset + batchSize, data.count));
      const rows = indices.length;
      await data.gather(indices, batchImages, batchLabels);
      const x = preprocess(batchImages, rows);
      oneHot.fill(0);
      for (let i = 0; i < rows; i++) {
        const label = batchLabels[i]!;
        if (label >= NUM_CLASSES) throw new Error(`label ${label} of example ${indices[i]} is out of range [0, ${NUM_CLASSES})`);
        oneHot[i * NUM_CLASSES + label] = 1;
      }

      const loss = tf.tidy(() => {
        const xs = tf.tensor2d(x, [rows, INPUT_SIZE]);
        const ys = tf.tensor2d(oneHot.subarray(0, rows * NUM_CLASSES), [rows, NUM_CLASSES]);
        const lossOf = (...w: tf.Tensor[]) => meanSoftmaxCrossEntropy(classifierLogits(arch, xs, w), ys);
        const { value, grads } = tf.valueAndGrads(lossOf)(optimizer.weightTensors());
        optimizer.apply(grads, step + 1);
        return value as tf.Scalar;
      });
      lastLoss?.dispose();
      lastLoss = loss;
      step++;

      if (opts.onCheckpoint && (step % recipe.checkpointEvery === 0 || step === totalSteps)) {
        await opts.onCheckpoint(snapshot());
        lastYield = performance.now();
      }
      if (performance.now() - lastYield >= yieldEveryMs || step === totalSteps) {
        opts.onProgress?.({ step, totalSteps, epoch, loss: readLoss() });
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
    const finalLoss = readLoss();
    return { model: modelWith(optimizer.state().weights), steps: step, finalLoss, resumedFromStep: start ? start.step : 0 };
  } finally {
    lastLoss?.dispose();
    optimizer.dispose();
  }
}

/**
 * Mean softmax cross-entropy of logits [n, k] against one-hot (or soft) labels [n, k], with the
 * closed-form gradient (softmax - labels) / n. tf.losses.softmaxCrossEntropy reaches the same
 * value through its weighted-loss wrapper, ~25 ops per step where this takes ~8.
 */
export function meanSoftmaxCrossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const loss = tf.customGrad(((z: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
    const logProbs = tf.logSoftmax(z);
    save([logProbs, y]);
    const value = tf.div(tf.neg(tf.sum(tf.mul(y, logProbs))), z.shape[0]!) as tf.Scalar;
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [lp, yy] = saved as [tf.Tensor, tf.Tensor];
        const scale = tf.div(dy, lp.shape[0]!);
        return [tf.mul(tf.sub(tf.exp(lp), yy), scale), tf.zerosLike(yy)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return loss(logits, labels) as tf.Scalar;
}

/**
 * Logits [n, 10] for preprocessed images x [n, 784], written with plain conv2d/matMul/add/relu/
 * maxPool (no fused ops, whose gradients bypass the Conv2D/BatchMatMul gradient overrides the wasm
 * backend needs). `weights` in `modelShapes(arch, hidden)` order. Used by training and evaluation.
 */
export function classifierLogits(arch: ModelArch, x: tf.Tensor2D, weights: readonly tf.Tensor[]): tf.Tensor2D {
  let dense = weights;
  let h: tf.Tensor2D = x;
  if (arch === 'cnn') {
    let image: tf.Tensor4D = tf.reshape(x, [x.shape[0], IMAGE_SIDE, IMAGE_SIDE, 1]);
    for (let l = 0; l < CNN_FILTERS.length; l++) {
      const conv = tf.add(tf.conv2d(image, weights[2 * l] as tf.Tensor4D, 1, 'same'), weights[2 * l + 1]!) as tf.Tensor4D;
      image = tf.maxPool(tf.relu(conv), 2, 2, 'valid');
    }
    h = tf.reshape(image, [x.shape[0], CNN_FEATURES]);
    dense = weights.slice(2 * CNN_FILTERS.length);
  } else if (arch !== 'mlp') {
    throw new Error(`unsupported model arch '${String(arch)}'`);
  }
  const layers = dense.length / 2;
  for (let l = 0; l < layers; l++) {
    h = tf.add(tf.matMul(h, dense[2 * l] as tf.Tensor2D), dense[2 * l + 1]!);
    if (l + 1 < layers) h = tf.relu(h);
  }
  return h;
}

function readFloats(t: tf.Tensor): Float32Array {
  // dataSync may hand back the backend's own buffer (cpu); copy so callers own the result.
  return new Float32Array(t.dataSync() as Float32Array);
}

function checkData(data: TrainingData): void {
  if (!Number.isInteger(data.count) || data.count < 1) throw new Error(`training data count must be a positive integer, got ${data.count}`);
  if (data.images.length < data.count * INPUT_SIZE) {
    throw new Error(`training data has ${data.images.length} pixel bytes, need ${data.count * INPUT_SIZE} for ${data.count} images`);
  }
  if (data.labels.length < data.count) throw new Error(`training data has ${data.labels.length} labels for ${data.count} images`);
  for (let i = 0; i < data.count; i++) {
    if (data.labels[i]! >= NUM_CLASSES) throw new Error(`label ${data.labels[i]} at index ${i} is out of range [0, ${NUM_CLASSES})`);
  }
}

// --- binary formats -----------------------------------------------------------------------------
//
// Both use the container of container.ts (magic, JSON header, float32 sections); decoders treat
// the bytes as untrusted.

const MODEL_MAGIC = 'SSCM';
const CHECKPOINT_MAGIC = 'SSCK';

/** Throws CorruptModelError unless `model`'s architecture and weight sizes are consistent. */
export function checkClassifier(model: SerializedClassifier): void {
  validateArch(model, 'model');
  const shapes = modelShapes(model.arch, model.hidden);
  if (!Array.isArray(model.weights) || model.weights.length !== shapes.length) {
    throw new CorruptModelError(`model: expected ${shapes.length} weight arrays, got ${model.weights?.length}`);
  }
  model.weights.forEach((w, i) => {
    const size = shapes[i]!.reduce((a, b) => a * b, 1);
    if (!(w instanceof Float32Array) || w.length !== size) {
      throw new CorruptModelError(`model: weight ${i} should be a Float32Array of ${size} values (shape ${JSON.stringify(shapes[i])})`);
    }
  });
}

function validateArch(h: Record<string, unknown> | SerializedClassifier, what: string): void {
  const header = h as Record<string, unknown>;
  if (header.format !== MODEL_FORMAT_VERSION) {
    throw new CorruptModelError(`${what}: unsupported format version ${JSON.stringify(header.format)} (this code reads ${MODEL_FORMAT_VERSION})`);
  }
  if (!MODEL_ARCHS.includes(header.arch as ModelArch)) throw new CorruptModelError(`${what}: unsupported arch ${JSON.stringify(header.arch)}`);
  if (header.inputSize !== INPUT_SIZE) throw new CorruptModelError(`${what}: inputSize ${JSON.stringify(header.inputSize)}, expected ${INPUT_SIZE}`);
  if (header.classes !== NUM_CLASSES) throw new CorruptModelError(`${what}: classes ${JSON.stringify(header.classes)}, expected ${NUM_CLASSES}`);
  const hidden = header.hidden;
  if (
    !Array.isArray(hidden) ||
    hidden.length > MAX_LAYERS ||
    !hidden.every((u) => Number.isInteger(u) && (u as number) >= 1 && (u as number) <= MAX_WIDTH)
  ) {
    throw new CorruptModelError(`${what}: hidden must be up to ${MAX_LAYERS} integers in [1, ${MAX_WIDTH}], got ${JSON.stringify(hidden)?.slice(0, 200)}`);
  }
  const params = modelShapes(header.arch as ModelArch, hidden as number[]).reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);
  if (params > MAX_PARAMS) throw new CorruptModelError(`${what}: ${params} parameters exceeds the limit of ${MAX_PARAMS}`);
}

function totalFloats(shapes: number[][]): number {
  return shapes.reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);
}

function modelHeader(model: SerializedClassifier) {
  return {
    format: model.format,
    arch: model.arch,
    inputSize: model.inputSize,
    classes: model.classes,
    hidden: model.hidden,
    shapes: modelShapes(model.arch, model.hidden),
    preprocessing: 'pixel/255',
  };
}

/** Model -> bytes (magic 'SSCM', JSON header {format, arch, hidden, shapes, ...}, float32 LE weights). */
export function serializeClassifier(model: SerializedClassifier): Uint8Array {
  checkClassifier(model);
  return writeContainer(MODEL_MAGIC, modelHeader(model), model.weights, MAX_HEADER_BYTES);
}

/** Bytes -> model; throws CorruptModelError naming the problem for anything malformed. */
export function deserializeClassifier(bytes: Uint8Array): SerializedClassifier {
  const what = 'classifier';
  const { header, view, payloadOffset } = readContainer(bytes, MODEL_MAGIC, what, MAX_HEADER_BYTES);
  validateArch(header, what);
  const arch = header.arch as ModelArch;
  const hidden = header.hidden as number[];
  const shapes = modelShapes(arch, hidden);
  if (JSON.stringify(header.shapes) !== JSON.stringify(shapes)) {
    throw new CorruptModelError(
      `${what}: header shapes ${JSON.stringify(header.shapes)?.slice(0, 200)} do not match arch '${arch}' with hidden ${JSON.stringify(hidden)} (expected ${JSON.stringify(shapes)})`,
    );
  }
  const expected = payloadOffset + 4 * totalFloats(shapes);
  if (bytes.length !== expected) throw new CorruptModelError(`${what}: ${bytes.length} bytes, expected ${expected} for hidden ${JSON.stringify(hidden)}`);
  const weights = readFloatSections(view, payloadOffset, shapes.map((s) => s.reduce((a, b) => a * b, 1)));
  return { format: MODEL_FORMAT_VERSION, arch, inputSize: INPUT_SIZE, classes: NUM_CLASSES, hidden: [...hidden], weights };
}

/** Checkpoint -> bytes: header {step, run, adam hyperparameters, model header}, then weights, m, v. */
export function encodeCheckpoint(state: CheckpointState): Uint8Array {
  checkClassifier(state.model);
  const sizes = state.model.weights.map((w) => w.length);
  for (const [name, slots] of [['m', state.adam.m], ['v', state.adam.v]] as const) {
    if (slots.length !== sizes.length || slots.some((s, i) => !(s instanceof Float32Array) || s.length !== sizes[i])) {
      throw new Error(`checkpoint: Adam slot ${name} does not match the model's weight sizes`);
    }
  }
  const header = {
    format: CHECKPOINT_FORMAT_VERSION,
    step: state.step,
    totalSteps: state.totalSteps,
    lastLoss: Number.isFinite(state.lastLoss) ? state.lastLoss : null,
    run: state.run,
    adam: { ...ADAM, iteration: state.adam.iteration },
    model: modelHeader(state.model),
  };
  return writeContainer(CHECKPOINT_MAGIC, header, [...state.model.weights, ...state.adam.m, ...state.adam.v], MAX_HEADER_BYTES);
}

/** Bytes -> checkpoint state; throws CorruptModelError for anything malformed. */
export function decodeCheckpoint(bytes: Uint8Array): CheckpointState {
  const what = 'checkpoint';
  const { header, view, payloadOffset } = readContainer(bytes, CHECKPOINT_MAGIC, what, MAX_HEADER_BYTES);
  if (header.format !== CHECKPOINT_FORMAT_VERSION) {
    throw new CorruptModelError(`${what}: unsupported format version ${JSON.stringify(header.format)} (this code reads ${CHECKPOINT_FORMAT_VERSION})`);
  }
  const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  const { step, totalSteps, lastLoss, run, adam, model } = header;
  if (!isCount(step) || !isCount(totalSteps)) throw new CorruptModelError(`${what}: step/totalSteps must be non-negative integers`);
  if (lastLoss !== null && typeof lastLoss !== 'number') throw new CorruptModelError(`${what}: lastLoss must be a number or null`);
  const a = adam as Record<string, unknown> | null;
  if (!a || typeof a !== 'object' || !isCount(a.iteration) || a.beta1 !== ADAM.beta1 || a.beta2 !== ADAM.beta2 || a.epsilon !== ADAM.epsilon) {
    throw new CorruptModelError(`${what}: adam state ${JSON.stringify(adam)?.slice(0, 200)} is missing fields or uses other hyperparameters`);
  }
  if (a.iteration !== step) throw new CorruptModelError(`${what}: adam iteration ${a.iteration} differs from step ${step}`);
  const r = run as Record<string, unknown> | null;
  if (
    !r ||
    typeof r !== 'object' ||
    typeof r.seed !== 'string' ||
    !isCount(r.count) ||
    !Array.isArray(r.hidden) ||
    !isCount(r.epochs) ||
    !isCount(r.minSteps) ||
    !isCount(r.batchSize) ||
    typeof r.learningRate !== 'number' ||
    !isCount(r.shuffleWindow)
  ) {
    throw new CorruptModelError(`${what}: run fingerprint is malformed`);
  }
  if (!model || typeof model !== 'object') throw new CorruptModelError(`${what}: model header missing`);
  const mh = model as Record<string, unknown>;
  validateArch(mh, `${what} model`);
  const arch = mh.arch as ModelArch;
  const hidden = mh.hidden as number[];
  if (JSON.stringify(hidden) !== JSON.stringify(r.hidden)) throw new CorruptModelError(`${what}: model hidden differs from run hidden`);
  const shapes = modelShapes(arch, hidden);
  if (JSON.stringify(mh.shapes) !== JSON.stringify(shapes)) {
    throw new CorruptModelError(`${what}: model shapes do not match arch '${arch}' with hidden ${JSON.stringify(hidden)}`);
  }
  const sizes = shapes.map((s) => s.reduce((x, y) => x * y, 1));
  const expected = payloadOffset + 3 * 4 * totalFloats(shapes);
  if (bytes.length !== expected) throw new CorruptModelError(`${what}: ${bytes.length} bytes, expected ${expected}`);
  const sections = readFloatSections(view, payloadOffset, [...sizes, ...sizes, ...sizes]);
  const k = sizes.length;
  return {
    step,
    totalSteps,
    lastLoss: lastLoss === null ? Number.NaN : (lastLoss as number),
    run: {
      seed: r.seed,
      count: r.count,
      hidden: [...hidden],
      epochs: r.epochs,
      minSteps: r.minSteps,
      batchSize: r.batchSize,
      learningRate: r.learningRate,
      shuffleWindow: r.shuffleWindow,
    },
    model: { format: MODEL_FORMAT_VERSION, arch, inputSize: INPUT_SIZE, classes: NUM_CLASSES, hidden: [...hidden], weights: sections.slice(0, k) },
    adam: { iteration: a.iteration, m: sections.slice(k, 2 * k), v: sections.slice(2 * k) },
  };
}
