// CLIP training: the dual encoder (model.ts) trained on (image, caption) pairs with the symmetric
// InfoNCE loss (loss.ts), by core/nn/trainer.ts's loop, the classifier's, with its
// reproducibility contract:
//  - initial weights from createRng(`${seed}|clip-init`) (model.ts);
//  - epoch e visits the pairs in shuffle.ts's order (a full permutation, or the shard-windowed
//    shuffle beyond `shuffleWindow`), so the batch at step s depends only on (seed, s, layout);
//  - our own Adam over every weight, logitScale included (optimizer.ts: logitScale is clipped
//    to [0, ln 100] right after each step), whose whole state is {weights, m, v, step}.
// Given a deterministic backend (wasm single-threaded, cpu, native CPU), a run resumed from a
// checkpoint ends with weights bit-identical to an uninterrupted run's.
import * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import { ClipTrainingSchema } from '../../contracts/spec/clip.js';
import { INPUT_SIZE, preprocess } from '../../core/nn/input.js';
import { MODEL_ARCHS, type ModelArch } from '../../core/nn/models/registry.js';
import { checkExampleCount, runTrainer, type BatchLoss, type LoopRecipe, type TrainerModel, type TrainerOptions } from '../../core/nn/trainer.js';
import { decodeClipCheckpoint, encodeClipCheckpoint, type ClipRunFingerprint } from './checkpoint.js';
import { clipLoss } from './loss.js';
import { checkClip, clipLayout, clipShapes, initialClip, type ClipConfig, type SerializedClip } from './model.js';
import { createClipAdam, type ClipOptimizer } from './optimizer.js';
import { checkVocabulary, encodeAll, vocabularyDigest, type Vocabulary } from './tokenizer.js';
import { embedImages, embedTexts, tokenBag, type TokenBag } from './towers.js';

export { createClipAdam };
export { ClipTrainingSchema };

export interface ClipRecipe extends LoopRecipe {
  arch: ModelArch;
  hidden: number[];
  embedDim: number;
  tokenWidth: number;
  maxTokens: number;
  /** Used where the vocabulary is built (buildVocabulary's maxSize); trainClip takes it with the data. */
  maxVocabulary: number;
  /** buildVocabulary's minCount, likewise. */
  minTokenCount: number;
}

// The interface and the schema's output must stay the same type.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const recipeMatchesSchema: Same<ClipRecipe, z.output<typeof ClipTrainingSchema>> = true;
void recipeMatchesSchema;

/** (image, caption) pairs in memory; `tokens` holds count rows of maxTokens ids (encodeAll). */
export interface ClipTrainingData {
  images: Uint8Array;
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
  /** Writes the pixels (row i at i * 784) and token ids (row i at i * maxTokens) of pairs `indices`. */
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

export interface ClipTrainResult {
  model: SerializedClip;
  steps: number;
  /** Loss of the final step's batch (symmetric InfoNCE, natural log). */
  finalLoss: number;
  /** 0 for a fresh run. */
  resumedFromStep: number;
  /** The TF.js backend that ran the steps ('' when a finished checkpoint left nothing to run). */
  backend: string;
}

/** Pairs from images and caption texts, tokenized with `vocabulary`. */
export function clipDataFromCaptions(images: Uint8Array, captions: readonly string[], vocabulary: Vocabulary, maxTokens: number): ClipTrainingData {
  return { images, tokens: encodeAll(vocabulary, captions, maxTokens), count: captions.length, maxTokens, vocabulary };
}

function asStream(data: ClipTrainingData | ClipTrainingStream): ClipTrainingStream {
  if ('gather' in data) return data;
  checkExampleCount(data.count);
  if (data.images.length < data.count * INPUT_SIZE) throw new Error(`training data has ${data.images.length} pixel bytes, need ${data.count * INPUT_SIZE}`);
  if (data.tokens.length < data.count * data.maxTokens) throw new Error(`training data has ${data.tokens.length} token ids, need ${data.count * data.maxTokens}`);
  const { maxTokens } = data;
  return {
    count: data.count,
    maxTokens,
    vocabulary: data.vocabulary,
    gather(indices, images, tokens) {
      for (let i = 0; i < indices.length; i++) {
        const index = indices[i]!;
        images.set(data.images.subarray(index * INPUT_SIZE, (index + 1) * INPUT_SIZE), i * INPUT_SIZE);
        tokens.set(data.tokens.subarray(index * maxTokens, (index + 1) * maxTokens), i * maxTokens);
      }
    },
  };
}

export async function trainClip(source: ClipTrainingData | ClipTrainingStream, recipe: ClipRecipe, opts: ClipTrainOptions): Promise<ClipTrainResult> {
  const data = asStream(source);
  checkExampleCount(data.count);
  if (!MODEL_ARCHS.includes(recipe.arch)) throw new Error(`unsupported arch '${String(recipe.arch)}'`);
  if (data.maxTokens !== recipe.maxTokens) throw new Error(`the data has ${data.maxTokens} tokens per caption, the recipe says maxTokens ${recipe.maxTokens}`);
  checkVocabulary(data.vocabulary);
  const run: ClipRunFingerprint = {
    seed: String(opts.seed),
    count: data.count,
    arch: recipe.arch,
    hidden: [...recipe.hidden],
    embedDim: recipe.embedDim,
    tokenWidth: recipe.tokenWidth,
    maxTokens: recipe.maxTokens,
    vocabulary: vocabularyDigest(data.vocabulary),
    epochs: recipe.epochs,
    minSteps: recipe.minSteps,
    batchSize: recipe.batchSize,
    learningRate: recipe.learningRate,
    shuffleWindow: recipe.shuffleWindow,
  };
  const model: TrainerModel<SerializedClip, ClipRunFingerprint, ClipOptimizer, ClipTrainProgress> = {
    run,
    decode: decodeClipCheckpoint,
    encode: encodeClipCheckpoint,
    initial: () => initialClip(recipe, data.vocabulary, opts.seed),
    check: checkClip,
    withWeights: (initial, weights) => ({ ...initial, weights }),
    shapes: (initial) => clipShapes(initial.config),
    createOptimizer: createClipAdam,
    batches: (initial, batchSize) => pairBatches(data, initial.config, batchSize),
    progress: (base, optimizer) => ({ ...base, logitScale: optimizer.logitScale() }),
  };
  return runTrainer(data, recipe, model, opts);
}

/** Batches of preprocessed images and token bags; the loss is the symmetric InfoNCE of the two towers. */
function pairBatches(data: ClipTrainingStream, config: ClipConfig, batchSize: number): BatchLoss {
  const { maxTokens, vocabSize } = config;
  const layout = clipLayout(config);
  const batchImages = new Uint8Array(batchSize * INPUT_SIZE);
  const batchTokens = new Int32Array(batchSize * maxTokens);
  let x: Float32Array = new Float32Array(0);
  let bag: TokenBag = { rows: 0, ids: new Int32Array(0), bag: new Float32Array(0) };
  let rows = 0;
  return {
    async load(indices) {
      rows = indices.length;
      batchTokens.fill(0);
      await data.gather(indices, batchImages, batchTokens);
      x = preprocess(batchImages, rows);
      bag = tokenBag(batchTokens, rows, maxTokens, vocabSize);
    },
    lossFunction() {
      const xs = tf.tensor2d(x, [rows, INPUT_SIZE]);
      return (...w: tf.Tensor[]) => clipLoss(embedImages(config, xs, w), embedTexts(config, bag, w), w[layout.logitScale]!);
    },
  };
}
