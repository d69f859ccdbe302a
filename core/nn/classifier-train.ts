// Training the sweep's classifier: Adam on mean softmax cross-entropy, by trainer.ts's loop (and
// its reproducibility contract and fair recipe: the validation loss is the same cross-entropy on
// the held-out examples), from createRng(`${seed}|init`) initial weights (never TF.js's RNG).
import * as tf from '@tensorflow/tfjs';
import { createAdam, type AdamOptimizer } from './adam.js';
import { decodeCheckpoint, encodeCheckpoint, type RunFingerprint } from './classifier-checkpoint.js';
import { checkClassifier, initialClassifier, type SerializedClassifier } from './classifier-model.js';
import { INPUT_SIZE, NUM_CLASSES, preprocess } from './input.js';
import { meanSoftmaxCrossEntropy } from './loss.js';
import { classifierLogits, MODEL_ARCHS, modelShapes, type ModelArch } from './models/registry.js';
import {
  checkExampleCount,
  CheckpointMismatchError,
  runTrainer,
  type BatchLoss,
  type LoopProgress,
  type LoopRecipe,
  type TrainerModel,
  type TrainerOptions,
  type TrainingOutcome,
  type ValidationSet,
} from './trainer.js';

/** What training reads of a sweep's recipe (contracts' TrainingRecipe has this shape; core cannot import it). */
export interface TrainingRecipe extends LoopRecipe {
  model: ModelArch;
  hidden: number[];
}

/** Training examples held in memory. */
export interface TrainingData {
  /** count * 784 grayscale bytes. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/**
 * Training examples read batch by batch (e.g. from shards, core/shards/stream.ts), so memory
 * does not grow with count. `segments` (examples per shard, summing to count) are the unit of the
 * windowed shuffle (shuffle.ts) once count exceeds the recipe's shuffleWindow.
 */
export interface TrainingStream {
  count: number;
  segments?: readonly number[];
  /** Writes the pixels (row i at i * 784) and labels of examples `indices` into the buffers. */
  gather(indices: ArrayLike<number>, images: Uint8Array, labels: Uint8Array): void | Promise<void>;
}

export type TrainProgress = LoopProgress;
export type TrainOptions = TrainerOptions<TrainProgress>;

export interface TrainResult extends TrainingOutcome {
  /** The best epoch's weights when examples were held out, else the last step's. */
  model: SerializedClassifier;
  steps: number;
  /** Loss of the final step's batch (mean softmax cross-entropy, natural log). */
  finalLoss: number;
  /** 0 for a fresh run. */
  resumedFromStep: number;
}

export async function trainClassifier(source: TrainingData | TrainingStream, recipe: TrainingRecipe, opts: TrainOptions): Promise<TrainResult> {
  const data = asStream(source);
  checkExampleCount(data.count);
  const arch: ModelArch = recipe.model;
  if (!MODEL_ARCHS.includes(arch)) throw new Error(`unsupported model '${String(recipe.model)}'`);
  const run: RunFingerprint = {
    seed: String(opts.seed),
    count: data.count,
    hidden: [...recipe.hidden],
    epochs: recipe.epochs,
    minSteps: recipe.minSteps,
    batchSize: recipe.batchSize,
    learningRate: recipe.learningRate,
    schedule: recipe.schedule,
    weightDecay: recipe.weightDecay,
    validationFraction: recipe.validationFraction,
    patience: recipe.patience,
    shuffleWindow: recipe.shuffleWindow,
  };
  const model: TrainerModel<SerializedClassifier, RunFingerprint, AdamOptimizer, TrainProgress> = {
    run,
    decode: decodeCheckpoint,
    encode: encodeCheckpoint,
    checkResume(start) {
      if (start.model.arch !== arch) {
        throw new CheckpointMismatchError(`checkpoint holds a '${start.model.arch}' model, this run trains a '${arch}'`);
      }
    },
    initial: () => initialClassifier(recipe.hidden, opts.seed, arch),
    check: checkClassifier,
    withWeights: (initial, weights) => ({ ...initial, hidden: [...recipe.hidden], weights }),
    shapes: () => modelShapes(arch, recipe.hidden),
    createOptimizer: createAdam,
    batches: (_, batchSize) => classifierBatches(data, arch, batchSize),
    validation: (_, indices) => classifierValidation(data, arch, indices),
    progress: (base) => base,
  };
  const { backend: _, ...result } = await runTrainer(data, recipe, model, opts);
  return result;
}

/** Batches of preprocessed images and one-hot labels; the loss is classifierLogits' cross-entropy. */
function classifierBatches(data: TrainingStream, arch: ModelArch, batchSize: number): BatchLoss {
  const oneHot = new Float32Array(batchSize * NUM_CLASSES);
  const batchImages = new Uint8Array(batchSize * INPUT_SIZE);
  const batchLabels = new Uint8Array(batchSize);
  let x: Float32Array = new Float32Array(0);
  let rows = 0;
  return {
    async load(indices) {
      rows = indices.length;
      await data.gather(indices, batchImages, batchLabels);
      x = preprocess(batchImages, rows);
      oneHotLabels(batchLabels, indices, oneHot);
    },
    lossFunction() {
      const xs = tf.tensor2d(x, [rows, INPUT_SIZE]);
      const ys = tf.tensor2d(oneHot.subarray(0, rows * NUM_CLASSES), [rows, NUM_CLASSES]);
      return (...w: tf.Tensor[]) => meanSoftmaxCrossEntropy(classifierLogits(arch, xs, w), ys);
    },
  };
}

/** Rows of the validation pass: the whole set at once up to this (bounds a CNN's activations). */
const VALIDATION_ROWS = 2048;

/** The held-out examples' images and labels on the device, in chunks of VALIDATION_ROWS; the loss is their mean cross-entropy. */
async function classifierValidation(data: TrainingStream, arch: ModelArch, indices: Uint32Array): Promise<ValidationSet> {
  const chunks: { xs: tf.Tensor2D; ys: tf.Tensor2D; rows: number }[] = [];
  const images = new Uint8Array(VALIDATION_ROWS * INPUT_SIZE);
  const labels = new Uint8Array(VALIDATION_ROWS);
  try {
    for (let start = 0; start < indices.length; start += VALIDATION_ROWS) {
      const part = indices.subarray(start, start + VALIDATION_ROWS);
      const rows = part.length;
      await data.gather(part, images, labels);
      // Fresh arrays per chunk: a backend may keep the array it was given rather than a copy.
      const oneHot = new Float32Array(rows * NUM_CLASSES);
      oneHotLabels(labels, part, oneHot);
      chunks.push({ xs: tf.tensor2d(preprocess(images, rows), [rows, INPUT_SIZE]), ys: tf.tensor2d(oneHot, [rows, NUM_CLASSES]), rows });
    }
  } catch (err) {
    tf.dispose(chunks.flatMap((c) => [c.xs, c.ys]));
    throw err;
  }
  return {
    loss(w) {
      const sums = chunks.map((c) => tf.mul(meanSoftmaxCrossEntropy(classifierLogits(arch, c.xs, w), c.ys), c.rows));
      return tf.div(tf.addN(sums), indices.length) as tf.Scalar;
    },
    dispose: () => tf.dispose(chunks.flatMap((c) => [c.xs, c.ys])),
  };
}

/** One-hot rows of `labels` (one per index) into `out`; a label out of range names its example. */
function oneHotLabels(labels: Uint8Array, indices: ArrayLike<number>, out: Float32Array): void {
  out.fill(0);
  for (let i = 0; i < indices.length; i++) {
    const label = labels[i]!;
    if (label >= NUM_CLASSES) throw new Error(`label ${label} of example ${indices[i]} is out of range [0, ${NUM_CLASSES})`);
    out[i * NUM_CLASSES + label] = 1;
  }
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

function checkData(data: TrainingData): void {
  checkExampleCount(data.count);
  if (data.images.length < data.count * INPUT_SIZE) {
    throw new Error(`training data has ${data.images.length} pixel bytes, need ${data.count * INPUT_SIZE} for ${data.count} images`);
  }
  if (data.labels.length < data.count) throw new Error(`training data has ${data.labels.length} labels for ${data.count} images`);
  for (let i = 0; i < data.count; i++) {
    if (data.labels[i]! >= NUM_CLASSES) throw new Error(`label ${data.labels[i]} at index ${i} is out of range [0, ${NUM_CLASSES})`);
  }
}
