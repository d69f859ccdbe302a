// CLIP training: the dual encoder (model.ts) trained on (image, caption) pairs with the symmetric
// InfoNCE loss (loss.ts), by core/nn/trainer.ts's loop, the classifier's, with its fair recipe
// (the validation loss is the InfoNCE of the held-out pairs) and its reproducibility contract:
//  - initial weights from createRng(`${seed}|clip-init`) (model.ts);
//  - epoch e visits the pairs in shuffle.ts's order (a full permutation, or the shard-windowed
//    shuffle beyond `shuffleWindow`), so the batch at step s depends only on (seed, s, layout);
//  - our own Adam over every weight, logitScale included (optimizer.ts: logitScale is clipped
//    to [0, ln 100] right after each step), whose whole state is {weights, m, v, step}.
// The image tower reads the data's geometry (default 28x28 grey); a ResNet tower's batch norm
// statistics are the trainer's non-trained state (core/nn/running-state.ts), kept in checkpoints.
// Given a deterministic backend (wasm single-threaded, cpu, native CPU), a run resumed from a
// checkpoint ends with weights bit-identical to an uninterrupted run's.
import * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import { ClipTrainingSchema } from '../../contracts/spec/clip.js';
import { TrainingSchema } from '../../contracts/spec/sweep.js';
import { pixelsPerImage, type ImageGeometry } from '../../core/image/geometry.js';
import { preprocess } from '../../core/nn/input.js';
import type { ResNetShape } from '../../core/nn/models/definition.js';
import { MODEL_ARCHS } from '../../core/nn/models/registry.js';
import {
  checkExampleCount,
  runTrainer,
  type BatchLoss,
  type LoopRecipe,
  type TrainerModel,
  type TrainerOptions,
  type TrainingOutcome,
  type ValidationSet,
} from '../../core/nn/trainer.js';
import { decodeClipCheckpoint, encodeClipCheckpoint, type ClipRunFingerprint } from './checkpoint.js';
import { clipLoss } from './loss.js';
import { checkClip, clipConfig, clipLayout, clipShapes, clipStateShapes, initialClip, towerGeometry, type ClipConfig, type SerializedClip } from './model.js';
import { createClipAdam, type ClipOptimizer } from './optimizer.js';
import { checkVocabulary, encodeAll, vocabularyDigest, type Vocabulary } from './tokenizer.js';
import { embedImages, embedTexts, tokenBag, type TokenBag } from './towers.js';

export { createClipAdam };
export { ClipTrainingSchema };

type FairField = 'schedule' | 'weightDecay' | 'validationFraction' | 'patience';

/**
 * The CLIP spec's recipe. The fair-recipe fields it does not carry (the CLIP spec has none of
 * them yet) take the classifier recipe's defaults, CLIP_FAIR_DEFAULTS.
 */
export type ClipRecipe = z.output<typeof ClipTrainingSchema> & Partial<Pick<LoopRecipe, FairField>> & { resnet?: ResNetShape };

export const CLIP_FAIR_DEFAULTS: Pick<LoopRecipe, FairField> = (({ schedule, weightDecay, validationFraction, patience }) => ({
  schedule,
  weightDecay,
  validationFraction,
  patience,
}))(TrainingSchema.parse({}));

/** `recipe` with every fair-recipe field: what the loop reads. */
export function withFairDefaults(recipe: ClipRecipe): ClipRecipe & LoopRecipe {
  const d = CLIP_FAIR_DEFAULTS;
  return {
    ...recipe,
    schedule: recipe.schedule ?? d.schedule,
    weightDecay: recipe.weightDecay ?? d.weightDecay,
    validationFraction: recipe.validationFraction ?? d.validationFraction,
    patience: recipe.patience ?? d.patience,
  };
}

/** (image, caption) pairs in memory; `tokens` holds count rows of maxTokens ids (encodeAll). */
export interface ClipTrainingData {
  /** count * pixelsPerImage(geometry) bytes. */
  images: Uint8Array;
  /** The images' geometry (default 28x28 grey). */
  geometry?: ImageGeometry;
  tokens: Int32Array;
  count: number;
  maxTokens: number;
  vocabulary: Vocabulary;
}

/**
 * Pairs read batch by batch (e.g. from shards). `segments` (pairs per shard, summing to count)
 * are the unit of the windowed shuffle once count exceeds the recipe's shuffleWindow.
 */
export interface ClipTrainingStream {
  count: number;
  segments?: readonly number[];
  /** Token ids per caption row; must equal the recipe's maxTokens. */
  maxTokens: number;
  /** The vocabulary the token ids index. */
  vocabulary: Vocabulary;
  /** The images' geometry (default 28x28 grey). */
  geometry?: ImageGeometry;
  /** Writes the pixels (row i at i * pixelsPerImage(geometry)) and token ids (row i at i * maxTokens) of pairs `indices`. */
  gather(indices: ArrayLike<number>, images: Uint8Array, tokens: Int32Array): void | Promise<void>;
}

export interface ClipTrainProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  /** Loss of the latest step's batch. */
  loss: number;
  /** The learned ln(1/τ) after the latest step. */
  logitScale: number;
}

export type ClipTrainOptions = TrainerOptions<ClipTrainProgress>;

export interface ClipTrainResult extends TrainingOutcome {
  /** The best epoch's weights when pairs were held out, else the last step's. */
  model: SerializedClip;
  steps: number;
  /** Loss of the final step's batch (symmetric InfoNCE, natural log). */
  finalLoss: number;
  /** 0 for a fresh run. */
  resumedFromStep: number;
  /** The TF.js backend that ran the steps ('' when a finished checkpoint left nothing to run). */
  backend: string;
}

/** Pairs from images (of `geometry`, default 28x28 grey) and caption texts, tokenized with `vocabulary`. */
export function clipDataFromCaptions(images: Uint8Array, captions: readonly string[], vocabulary: Vocabulary, maxTokens: number, geometry?: ImageGeometry): ClipTrainingData {
  return { images, tokens: encodeAll(vocabulary, captions, maxTokens), count: captions.length, maxTokens, vocabulary, ...(geometry ? { geometry } : {}) };
}

function asStream(data: ClipTrainingData | ClipTrainingStream, per: number): ClipTrainingStream {
  if ('gather' in data) return data;
  checkExampleCount(data.count);
  if (data.images.length < data.count * per) throw new Error(`training data has ${data.images.length} pixel bytes, need ${data.count * per}`);
  if (data.tokens.length < data.count * data.maxTokens) throw new Error(`training data has ${data.tokens.length} token ids, need ${data.count * data.maxTokens}`);
  const { maxTokens } = data;
  return {
    count: data.count,
    maxTokens,
    vocabulary: data.vocabulary,
    gather(indices, images, tokens) {
      for (let i = 0; i < indices.length; i++) {
        const index = indices[i]!;
        images.set(data.images.subarray(index * per, (index + 1) * per), i * per);
        tokens.set(data.tokens.subarray(index * maxTokens, (index + 1) * maxTokens), i * maxTokens);
      }
    },
  };
}

export async function trainClip(source: ClipTrainingData | ClipTrainingStream, clipRecipe: ClipRecipe, opts: ClipTrainOptions): Promise<ClipTrainResult> {
  const recipe = withFairDefaults(clipRecipe);
  if (!MODEL_ARCHS.includes(recipe.arch)) throw new Error(`unsupported arch '${String(recipe.arch)}'`);
  // The model's config (geometry only when not 28x28 grey, the ResNet's shape for a ResNet tower).
  const config = clipConfig({ ...recipe, ...(source.geometry ? { geometry: source.geometry } : {}) }, 0);
  const data = asStream(source, pixelsPerImage(towerGeometry(config)));
  checkExampleCount(data.count);
  if (data.maxTokens !== recipe.maxTokens) throw new Error(`the data has ${data.maxTokens} tokens per caption, the recipe says maxTokens ${recipe.maxTokens}`);
  checkVocabulary(data.vocabulary);
  const run: ClipRunFingerprint = {
    seed: String(opts.seed),
    count: data.count,
    arch: recipe.arch,
    hidden: [...config.hidden],
    embedDim: recipe.embedDim,
    tokenWidth: recipe.tokenWidth,
    maxTokens: recipe.maxTokens,
    vocabulary: vocabularyDigest(data.vocabulary),
    epochs: recipe.epochs,
    minSteps: recipe.minSteps,
    batchSize: recipe.batchSize,
    learningRate: recipe.learningRate,
    schedule: recipe.schedule,
    weightDecay: recipe.weightDecay,
    validationFraction: recipe.validationFraction,
    patience: recipe.patience,
    shuffleWindow: recipe.shuffleWindow,
    ...(config.geometry ? { geometry: config.geometry } : {}),
    ...(config.resnet ? { resnet: config.resnet } : {}),
  };
  const model: TrainerModel<SerializedClip, ClipRunFingerprint, ClipOptimizer, ClipTrainProgress> = {
    run,
    decode: decodeClipCheckpoint,
    encode: encodeClipCheckpoint,
    initial: () => initialClip(config, data.vocabulary, opts.seed),
    check: checkClip,
    withWeights: (initial, weights, state) => ({ ...initial, weights, ...(state.length ? { state } : {}) }),
    shapes: (initial) => clipShapes(initial.config),
    state: (m) => ({ values: m.state ?? [], shapes: clipStateShapes(m.config) }),
    createOptimizer: createClipAdam,
    batches: (initial, batchSize) => pairBatches(data, initial.config, batchSize),
    validation: (initial, indices, batchSize) => pairValidation(data, initial.config, indices, batchSize),
    progress: (base, optimizer) => ({ ...base, logitScale: optimizer.logitScale() }),
  };
  return runTrainer(data, recipe, model, opts);
}

/** Batches of preprocessed images and token bags; the loss is the symmetric InfoNCE of the two towers. */
function pairBatches(data: ClipTrainingStream, config: ClipConfig, batchSize: number): BatchLoss {
  const { maxTokens, vocabSize } = config;
  const layout = clipLayout(config);
  const geometry = towerGeometry(config);
  const per = pixelsPerImage(geometry);
  const batchImages = new Uint8Array(batchSize * per);
  const batchTokens = new Int32Array(batchSize * maxTokens);
  let x: Float32Array = new Float32Array(0);
  let bag: TokenBag = { rows: 0, ids: new Int32Array(0), bag: new Float32Array(0) };
  let rows = 0;
  return {
    async load(indices) {
      rows = indices.length;
      batchTokens.fill(0);
      await data.gather(indices, batchImages, batchTokens);
      x = preprocess(batchImages, rows, undefined, geometry);
      bag = tokenBag(batchTokens, rows, maxTokens, vocabSize);
    },
    lossFunction(state) {
      const xs = tf.tensor2d(x, [rows, per]);
      const mode = { training: true as const, state: state.tensors, next: state.next };
      return (...w: tf.Tensor[]) => clipLoss(embedImages(config, xs, w, mode), embedTexts(config, bag, w), w[layout.logitScale]!);
    },
  };
}

/**
 * The held-out pairs, loaded once in chunks of the training batch size (InfoNCE depends on the
 * batch: each pair's negatives are its chunk's); the loss is the pair-weighted mean of the chunks'.
 */
async function pairValidation(data: ClipTrainingStream, config: ClipConfig, indices: Uint32Array, batchSize: number): Promise<ValidationSet> {
  const { maxTokens, vocabSize } = config;
  const layout = clipLayout(config);
  const geometry = towerGeometry(config);
  const per = pixelsPerImage(geometry);
  const images = new Uint8Array(batchSize * per);
  const tokens = new Int32Array(batchSize * maxTokens);
  const chunks: { xs: tf.Tensor2D; bag: TokenBag; rows: number }[] = [];
  try {
    for (let start = 0; start < indices.length; start += batchSize) {
      const part = indices.subarray(start, start + batchSize);
      tokens.fill(0);
      await data.gather(part, images, tokens);
      const rows = part.length;
      chunks.push({ xs: tf.tensor2d(preprocess(images, rows, undefined, geometry), [rows, per]), bag: tokenBag(tokens, rows, maxTokens, vocabSize), rows });
    }
  } catch (err) {
    tf.dispose(chunks.map((c) => c.xs));
    throw err;
  }
  return {
    loss(w, state) {
      const mode = { training: false as const, state };
      const sums = chunks.map((c) => tf.mul(clipLoss(embedImages(config, c.xs, w, mode), embedTexts(config, c.bag, w), w[layout.logitScale]!), c.rows));
      return tf.div(tf.addN(sums), indices.length) as tf.Scalar;
    },
    dispose: () => tf.dispose(chunks.map((c) => c.xs)),
  };
}
