// Batched inference with a trained dual encoder: host arrays in, host arrays out.
import * as tf from '@tensorflow/tfjs';
import { initTfBackend, type BackendPreference } from '../../core/nn/backend.js';
import { INPUT_SIZE, preprocess } from '../../core/nn/input.js';
import { checkClip, clipLayout, clipShapes, type SerializedClip } from './model.js';
import { encodeAll } from './tokenizer.js';
import { embedImages, embedTexts, imageFeatures, tokenBag } from './towers.js';

export interface ClipInferenceOptions {
  /** Backend to initialize if none has been yet (default 'auto'); see initTfBackend. */
  backend?: BackendPreference;
  /** Rows per batch (default 512). */
  batchSize?: number;
  signal?: AbortSignal;
}

async function batched(
  model: SerializedClip,
  count: number,
  width: number,
  opts: ClipInferenceOptions,
  run: (weights: tf.Tensor[], start: number, n: number) => tf.Tensor2D,
): Promise<Float32Array> {
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a non-negative integer, got ${count}`);
  checkClip(model);
  await initTfBackend(opts.backend ?? 'auto');
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 512));
  const shapes = clipShapes(model.config);
  const weights = model.weights.map((w, i) => tf.tensor(w, shapes[i]));
  const out = new Float32Array(count * width);
  try {
    for (let start = 0; start < count; start += batchSize) {
      opts.signal?.throwIfAborted();
      const n = Math.min(batchSize, count - start);
      const result = tf.tidy(() => run(weights, start, n));
      out.set(result.dataSync() as Float32Array, start * width);
      result.dispose();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    for (const w of weights) w.dispose();
  }
  return out;
}

function checkImages(images: Uint8Array, count: number): void {
  if (images.length < count * INPUT_SIZE) throw new Error(`${images.length} pixel bytes is fewer than ${count} images need`);
}

/** Normalised image embeddings of images [0, count): count * embedDim floats. */
export async function encodeImages(model: SerializedClip, images: Uint8Array, count: number, opts: ClipInferenceOptions = {}): Promise<Float32Array> {
  checkImages(images, count);
  return batched(model, count, model.config.embedDim, opts, (weights, start, n) => {
    const x = tf.tensor2d(preprocess(images.subarray(start * INPUT_SIZE, (start + n) * INPUT_SIZE), n), [n, INPUT_SIZE]);
    return embedImages(model.config, x, weights);
  });
}

/** Frozen trunk features (before the projection) of images [0, count): count * features floats. */
export async function encodeImageFeatures(model: SerializedClip, images: Uint8Array, count: number, opts: ClipInferenceOptions = {}): Promise<Float32Array> {
  checkImages(images, count);
  return batched(model, count, clipLayout(model.config).features, opts, (weights, start, n) => {
    const x = tf.tensor2d(preprocess(images.subarray(start * INPUT_SIZE, (start + n) * INPUT_SIZE), n), [n, INPUT_SIZE]);
    return imageFeatures(model.config, x, weights);
  });
}

/** Normalised text embeddings of `texts`: texts.length * embedDim floats. */
export async function encodeTexts(model: SerializedClip, texts: readonly string[], opts: ClipInferenceOptions = {}): Promise<Float32Array> {
  checkClip(model);
  const { maxTokens, vocabSize } = model.config;
  const tokens = encodeAll(model.vocabulary, texts, maxTokens);
  return batched(model, texts.length, model.config.embedDim, opts, (weights, start, n) =>
    embedTexts(model.config, tokenBag(tokens.subarray(start * maxTokens, (start + n) * maxTokens), n, maxTokens, vocabSize), weights),
  );
}
