// CLIP training: the dual encoder (model.ts) trained on (image, caption) pairs with the symmetric
// InfoNCE loss, by the same hand-written, checkpointable loop as the classifier
// (activities/train/classifier.ts), with the same reproducibility contract:
//  - initial weights from createRng(`${seed}|clip-init`) (model.ts);
//  - epoch e visits the pairs in shuffle.ts's order (a full permutation, or the shard-windowed
//    shuffle beyond `shuffleWindow`), so the batch at step s depends only on (seed, s, layout);
//  - our own Adam (adam.ts) over every weight, logitScale included, whose whole state is
//    {weights, m, v, step}; logitScale is clipped to [0, ln 100] right after each step, so the
//    clipped value is what the state (and any checkpoint) holds and a resume continues from it.
// Given a deterministic backend (wasm single-threaded, cpu, native CPU), a run resumed from a
// checkpoint ends with weights bit-identical to an uninterrupted run's.
import * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import { ClipTrainingSchema } from '../../contracts/spec/clip.js';
import { adamPlacementFor, adamStep, createAdam, type AdamOptimizer, type AdamPlacement, type AdamState } from '../../core/nn/adam.js';
import { initTfBackend } from '../../core/nn/backend.js';
import { CheckpointMismatchError, INPUT_SIZE, MODEL_ARCHS, preprocess, trainingSteps, type Checkpoint, type ModelArch } from '../../core/nn/classifier.js';
import { epochOrder as shuffledEpoch } from '../../core/nn/shuffle.js';
import { decodeClipCheckpoint, encodeClipCheckpoint, type ClipCheckpointState, type ClipRunFingerprint } from './checkpoint.js';
import {
  checkClip,
  clipLayout,
  clipLoss,
  clipShapes,
  embedImages,
  embedTexts,
  initialClip,
  LOGIT_SCALE_MAX,
  LOGIT_SCALE_MIN,
  tokenBag,
  type SerializedClip,
} from './model.js';
import { checkVocabulary, encodeAll, vocabularyDigest, type Vocabulary } from './tokenizer.js';

export { ClipTrainingSchema };

export interface ClipRecipe {
  arch: ModelArch;
  hidden: number[];
  embedDim: number;
  tokenWidth: number;
  maxTokens: number;
  /** Used where the vocabulary is built (buildVocabulary's maxSize); trainClip takes it with the data. */
  maxVocabulary: number;
  /** buildVocabulary's minCount, likewise. */
  minTokenCount: number;
  epochs: number;
  minSteps: number;
  batchSize: number;
  learningRate: number;
  checkpointEvery: number;
  shuffleWindow: number;
  backend: 'auto' | 'wasm' | 'cpu' | 'tensorflow';
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

export interface ClipTrainOptions {
  seed: number | string;
  resume?: Checkpoint | null;
  onCheckpoint?: (c: Checkpoint) => Promise<void>;
  onProgress?: (p: ClipTrainProgress) => void;
  signal?: AbortSignal;
  /** Longest stretch of synchronous work before yielding to the event loop (default 25 ms). */
  yieldEveryMs?: number;
}

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
  if (!Number.isInteger(data.count) || data.count < 1) throw new Error(`training data count must be a positive integer, got ${data.count}`);
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

/** Adam plus logitScale's clip: the optimizer interface, with the clip inside `apply`. */
interface ClipOptimizer extends AdamOptimizer {
  logitScale(): number;
}

/**
 * Adam over all weights (last = logitScale) that clips logitScale to [0, ln 100] after each step.
 * 'device': one device Adam; the clip is an assign on the logitScale variable. 'host': the host
 * Adam has no handle on its weights, so the scalar gets its own host step (adamStep, the very
 * function the host Adam runs, same hyperparameters and step) and is clipped in JS.
 */
export function createClipAdam(placement: AdamPlacement, shapes: number[][], initial: AdamState, learningRate: number): ClipOptimizer {
  const k = shapes.length - 1;
  if (placement === 'device') {
    const inner = createAdam('device', shapes, initial, learningRate);
    const scale = inner.weightTensors()[k];
    if (!(scale instanceof tf.Variable)) {
      inner.dispose();
      throw new Error('device Adam did not expose its weights as variables');
    }
    return {
      placement: inner.placement,
      weightTensors: () => inner.weightTensors(),
      apply(grads, t) {
        inner.apply(grads, t);
        scale.assign(tf.clipByValue(scale, LOGIT_SCALE_MIN, LOGIT_SCALE_MAX));
      },
      state: () => inner.state(),
      logitScale: () => scale.dataSync()[0]!,
      dispose: () => inner.dispose(),
    };
  }
  const head = (list: Float32Array[]) => list.slice(0, k);
  const inner = createAdam('host', shapes.slice(0, k), { weights: head(initial.weights), m: head(initial.m), v: head(initial.v) }, learningRate);
  const last = (list: Float32Array[]) => {
    const a = list[k];
    if (!a || a.length !== 1) throw new Error('Adam state: logitScale must be one value');
    return new Float32Array(a);
  };
  const w = last(initial.weights);
  const m = last(initial.m);
  const v = last(initial.v);
  return {
    placement: inner.placement,
    weightTensors: () => [...inner.weightTensors(), tf.tensor(w, shapes[k])],
    apply(grads, t) {
      inner.apply(grads.slice(0, k), t);
      adamStep([w], [grads[k]!.dataSync() as Float32Array], [m], [v], t, learningRate);
      w[0] = Math.min(Math.max(w[0]!, LOGIT_SCALE_MIN), LOGIT_SCALE_MAX);
    },
    state() {
      const s = inner.state();
      return { weights: [...s.weights, new Float32Array(w)], m: [...s.m, new Float32Array(m)], v: [...s.v, new Float32Array(v)] };
    },
    logitScale: () => w[0]!,
    dispose: () => inner.dispose(),
  };
}

export async function trainClip(source: ClipTrainingData | ClipTrainingStream, recipe: ClipRecipe, opts: ClipTrainOptions): Promise<ClipTrainResult> {
  const data = asStream(source);
  if (!Number.isInteger(data.count) || data.count < 1) throw new Error(`training data count must be a positive integer, got ${data.count}`);
  if (!MODEL_ARCHS.includes(recipe.arch)) throw new Error(`unsupported arch '${String(recipe.arch)}'`);
  if (data.maxTokens !== recipe.maxTokens) throw new Error(`the data has ${data.maxTokens} tokens per caption, the recipe says maxTokens ${recipe.maxTokens}`);
  checkVocabulary(data.vocabulary);
  const { stepsPerEpoch, totalSteps } = trainingSteps(data.count, recipe);
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

  let start: ClipCheckpointState | null = null;
  if (opts.resume) {
    start = decodeClipCheckpoint(opts.resume.bytes);
    if (start.step !== opts.resume.step) {
      throw new CheckpointMismatchError(`checkpoint says step ${opts.resume.step} but its bytes hold step ${start.step}`);
    }
    const expected = JSON.stringify(run);
    const found = JSON.stringify(start.run);
    if (expected !== found) throw new CheckpointMismatchError(`checkpoint belongs to a different run: it has ${found}, this run is ${expected}`);
  }
  opts.signal?.throwIfAborted();
  if (start && start.step >= totalSteps) {
    return { model: start.model, steps: start.step, finalLoss: start.lastLoss, resumedFromStep: start.step, backend: '' };
  }

  const backend = await initTfBackend(recipe.backend);
  const initial = start ? start.model : initialClip(recipe, data.vocabulary, opts.seed);
  checkClip(initial);
  const config = initial.config;
  const { maxTokens, vocabSize } = config;
  const shapes = clipShapes(config);
  const layout = clipLayout(config);
  const zeros = () => initial.weights.map((w) => new Float32Array(w.length));
  const optimizer = createClipAdam(
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
  const modelWith = (weights: Float32Array[]): SerializedClip => ({ ...initial, weights });
  const snapshot = (): Checkpoint => {
    const loss = readLoss();
    const { weights, m, v } = optimizer.state();
    const state: ClipCheckpointState = { step, totalSteps, lastLoss: loss, run, model: modelWith(weights), adam: { iteration: step, m, v } };
    return { step, totalSteps, bytes: encodeClipCheckpoint(state) };
  };

  const yieldEveryMs = opts.yieldEveryMs ?? 25;
  let lastYield = performance.now();
  let epochOrder = null as { epoch: number; order: Uint32Array } | null;
  const batchSize = recipe.batchSize;
  const batchImages = new Uint8Array(batchSize * INPUT_SIZE);
  const batchTokens = new Int32Array(batchSize * maxTokens);
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
      batchTokens.fill(0);
      await data.gather(indices, batchImages, batchTokens);
      const x = preprocess(batchImages, rows);
      const bag = tokenBag(batchTokens, rows, maxTokens, vocabSize);

      const loss = tf.tidy(() => {
        const xs = tf.tensor2d(x, [rows, INPUT_SIZE]);
        const lossOf = (...w: tf.Tensor[]) => clipLoss(embedImages(config, xs, w), embedTexts(config, bag, w), w[layout.logitScale]!);
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
        opts.onProgress?.({ step, totalSteps, epoch, loss: readLoss(), logitScale: optimizer.logitScale() });
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
    const finalLoss = readLoss();
    return { model: modelWith(optimizer.state().weights), steps: step, finalLoss, resumedFromStep: start ? start.step : 0, backend: backend.backend };
  } finally {
    lastLoss?.dispose();
    optimizer.dispose();
  }
}
