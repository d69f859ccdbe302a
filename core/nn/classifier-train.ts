// Training the sweep's classifier: Adam on mean softmax cross-entropy, by trainer.ts's loop (and
// its reproducibility contract and fair recipe: the validation loss is the same cross-entropy on
// the held-out examples), from createRng(`${seed}|init`) initial weights (never TF.js's RNG).
// The data says what the model reads and predicts: its geometry (default 28x28 grey) and class
// count (default 10). Training batches are augmented when the recipe asks (augment.ts: by
// default the ResNet's pad-and-crop and flip); validation examples never are.
import * as tf from '@tensorflow/tfjs';
import { pixelsPerImage, sameGeometry, type ImageGeometry } from '../image/geometry.js';
import { createAdam, type AdamOptimizer } from './adam.js';
import { augmentationFor, preprocessAugmented, type Augmentation } from './augment.js';
import { decodeCheckpoint, encodeCheckpoint, type RunFingerprint } from './classifier-checkpoint.js';
import { checkClassifier, classifierWith, initialClassifier, specOf, type SerializedClassifier } from './classifier-model.js';
import { DEFAULT_GEOMETRY, NUM_CLASSES, preprocess } from './input.js';
import { meanSoftmaxCrossEntropy } from './loss.js';
import { DEFAULT_RESNET, type ModelSpec, type ResNetShape } from './models/definition.js';
import { MAX_CLASSES } from './models/limits.js';
import { classifierLogits, MODEL_ARCHS, modelShapes, stateShapes, type ModelArch } from './models/registry.js';
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
  /** Dense hidden widths (mlp, cnn; ignored by the ResNet). */
  hidden: number[];
  /** The ResNet's depth and width (default 20 and 16). */
  resnet?: ResNetShape;
  /** Training-time augmentation (default: crop 4 and flip for 'resnet', none otherwise). */
  augment?: Augmentation;
}

/** What the examples are: their geometry (default 28x28 grey) and how many classes the labels index (default 10). */
export interface ExampleShape {
  geometry?: ImageGeometry;
  classCount?: number;
}

/** Training examples held in memory. */
export interface TrainingData extends ExampleShape {
  /** count * pixelsPerImage(geometry) bytes, row-major HWC. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/**
 * Training examples read batch by batch (e.g. from shards, core/shards/stream.ts), so memory
 * does not grow with count. `segments` (examples per shard, summing to count) are the unit of the
 * windowed shuffle (shuffle.ts) once count exceeds the recipe's shuffleWindow.
 */
export interface TrainingStream extends ExampleShape {
  count: number;
  segments?: readonly number[];
  /** Writes the pixels (row i at i * pixelsPerImage(geometry)) and labels of examples `indices` into the buffers. */
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

/** The geometry and class count of `data`, checked. */
export function exampleShape(data: ExampleShape): { geometry: ImageGeometry; classes: number } {
  const classes = data.classCount ?? NUM_CLASSES;
  if (!Number.isInteger(classes) || classes < 2 || classes > MAX_CLASSES) throw new Error(`classCount must be an integer in [2, ${MAX_CLASSES}], got ${classes}`);
  const g = data.geometry ?? DEFAULT_GEOMETRY;
  return { geometry: { size: g.size, channels: g.channels }, classes };
}

/** The fingerprint a run of `recipe` on `count` examples of `shape` is resumed against (new fields only when not the old defaults). */
function runFingerprint(recipe: TrainingRecipe, seed: number | string, count: number, spec: ModelSpec, augment: Augmentation | null): RunFingerprint {
  return {
    seed: String(seed),
    count,
    hidden: [...spec.hidden],
    epochs: recipe.epochs,
    minSteps: recipe.minSteps,
    batchSize: recipe.batchSize,
    learningRate: recipe.learningRate,
    schedule: recipe.schedule,
    weightDecay: recipe.weightDecay,
    validationFraction: recipe.validationFraction,
    patience: recipe.patience,
    shuffleWindow: recipe.shuffleWindow,
    ...(sameGeometry(spec.geometry, DEFAULT_GEOMETRY) ? {} : { geometry: spec.geometry }),
    ...(spec.classes === NUM_CLASSES ? {} : { classes: spec.classes }),
    ...(spec.resnet ? { resnet: spec.resnet } : {}),
    ...(augment ? { augment } : {}),
  };
}

export async function trainClassifier(source: TrainingData | TrainingStream, recipe: TrainingRecipe, opts: TrainOptions): Promise<TrainResult> {
  const arch: ModelArch = recipe.model;
  if (!MODEL_ARCHS.includes(arch)) throw new Error(`unsupported model '${String(recipe.model)}'`);
  const { geometry, classes } = exampleShape(source);
  const data = asStream(source, geometry, classes);
  checkExampleCount(data.count);
  const resnet = arch === 'resnet' ? { ...(recipe.resnet ?? DEFAULT_RESNET) } : undefined;
  const options = { geometry, classes, ...(resnet ? { resnet } : {}) };
  const spec = specOf(classifierWith(arch, recipe.hidden, [], options));
  const augment = augmentationFor(arch, recipe.augment);
  const model: TrainerModel<SerializedClassifier, RunFingerprint, AdamOptimizer, TrainProgress> = {
    run: runFingerprint(recipe, opts.seed, data.count, spec, augment),
    decode: decodeCheckpoint,
    encode: encodeCheckpoint,
    checkResume(start) {
      if (start.model.arch !== arch) {
        throw new CheckpointMismatchError(`checkpoint holds a '${start.model.arch}' model, this run trains a '${arch}'`);
      }
    },
    initial: () => initialClassifier(recipe.hidden, opts.seed, arch, options),
    check: checkClassifier,
    withWeights: (initial, weights, state) => ({ ...initial, weights, ...(state.length ? { state } : {}) }),
    shapes: () => modelShapes(arch, spec),
    state: (m) => ({ values: m.state ?? [], shapes: stateShapes(arch, spec) }),
    createOptimizer: createAdam,
    batches: (_, batchSize) => classifierBatches(data, arch, spec, batchSize, augment ? { augment, seed: opts.seed } : null),
    validation: (_, indices) => classifierValidation(data, arch, spec, indices),
    progress: (base) => base,
  };
  const { backend: _, ...result } = await runTrainer(data, recipe, model, opts);
  return result;
}

/**
 * Batches of preprocessed (and, with `augmenting`, augmented) images and one-hot labels; the loss
 * is classifierLogits' cross-entropy in training mode.
 */
function classifierBatches(data: TrainingStream, arch: ModelArch, spec: ModelSpec, batchSize: number, augmenting: { augment: Augmentation; seed: number | string } | null): BatchLoss {
  const { geometry, classes } = spec;
  const per = pixelsPerImage(geometry);
  const oneHot = new Float32Array(batchSize * classes);
  const batchImages = new Uint8Array(batchSize * per);
  const batchLabels = new Uint8Array(batchSize);
  let x: Float32Array = new Float32Array(0);
  let rows = 0;
  return {
    async load(indices, at) {
      rows = indices.length;
      await data.gather(indices, batchImages, batchLabels);
      x = augmenting
        ? preprocessAugmented(batchImages, rows, geometry, augmenting.augment, augmenting.seed, at.epoch, indices)
        : preprocess(batchImages, rows, undefined, geometry);
      oneHotLabels(batchLabels, indices, oneHot, classes);
    },
    lossFunction(state) {
      const xs = tf.tensor2d(x, [rows, per]);
      const ys = tf.tensor2d(oneHot.subarray(0, rows * classes), [rows, classes]);
      const mode = { training: true as const, state: state.tensors, next: state.next };
      return (...w: tf.Tensor[]) => meanSoftmaxCrossEntropy(classifierLogits(arch, xs, w, spec, mode), ys);
    },
  };
}

/** Rows of the validation pass: the whole set at once up to this (bounds a CNN's activations). */
const VALIDATION_ROWS = 2048;

/** The held-out examples' images and labels on the device, in chunks of VALIDATION_ROWS; the loss is their mean cross-entropy. */
async function classifierValidation(data: TrainingStream, arch: ModelArch, spec: ModelSpec, indices: Uint32Array): Promise<ValidationSet> {
  const { geometry, classes } = spec;
  const per = pixelsPerImage(geometry);
  const chunks: { xs: tf.Tensor2D; ys: tf.Tensor2D; rows: number }[] = [];
  const images = new Uint8Array(Math.min(VALIDATION_ROWS, indices.length) * per);
  const labels = new Uint8Array(VALIDATION_ROWS);
  try {
    for (let start = 0; start < indices.length; start += VALIDATION_ROWS) {
      const part = indices.subarray(start, start + VALIDATION_ROWS);
      const rows = part.length;
      await data.gather(part, images, labels);
      // Fresh arrays per chunk: a backend may keep the array it was given rather than a copy.
      const oneHot = new Float32Array(rows * classes);
      oneHotLabels(labels, part, oneHot, classes);
      chunks.push({ xs: tf.tensor2d(preprocess(images, rows, undefined, geometry), [rows, per]), ys: tf.tensor2d(oneHot, [rows, classes]), rows });
    }
  } catch (err) {
    tf.dispose(chunks.flatMap((c) => [c.xs, c.ys]));
    throw err;
  }
  return {
    loss(w, state) {
      const mode = { training: false as const, state };
      const sums = chunks.map((c) => tf.mul(meanSoftmaxCrossEntropy(classifierLogits(arch, c.xs, w, spec, mode), c.ys), c.rows));
      return tf.div(tf.addN(sums), indices.length) as tf.Scalar;
    },
    dispose: () => tf.dispose(chunks.flatMap((c) => [c.xs, c.ys])),
  };
}

/** One-hot rows of `labels` (one per index) into `out`; a label out of range names its example. */
function oneHotLabels(labels: Uint8Array, indices: ArrayLike<number>, out: Float32Array, classes: number): void {
  out.fill(0);
  for (let i = 0; i < indices.length; i++) {
    const label = labels[i]!;
    if (label >= classes) throw new Error(`label ${label} of example ${indices[i]} is out of range [0, ${classes})`);
    out[i * classes + label] = 1;
  }
}

function asStream(data: TrainingData | TrainingStream, geometry: ImageGeometry, classes: number): TrainingStream {
  if ('gather' in data) return data;
  checkData(data, pixelsPerImage(geometry), classes);
  const per = pixelsPerImage(geometry);
  return {
    count: data.count,
    gather(indices, images, labels) {
      for (let i = 0; i < indices.length; i++) {
        const index = indices[i]!;
        images.set(data.images.subarray(index * per, (index + 1) * per), i * per);
        labels[i] = data.labels[index]!;
      }
    },
  };
}

function checkData(data: TrainingData, per: number, classes: number): void {
  checkExampleCount(data.count);
  if (data.images.length < data.count * per) {
    throw new Error(`training data has ${data.images.length} pixel bytes, need ${data.count * per} for ${data.count} images of ${per}`);
  }
  if (data.labels.length < data.count) throw new Error(`training data has ${data.labels.length} labels for ${data.count} images`);
  for (let i = 0; i < data.count; i++) {
    if (data.labels[i]! >= classes) throw new Error(`label ${data.labels[i]} at index ${i} is out of range [0, ${classes})`);
  }
}
