// Batched inference with a trained dual encoder: host arrays in, host arrays out. Images are read
// at the model's geometry (config.geometry, default 28x28 grey); a ResNet tower normalises with
// its running batch norm statistics (inference mode).
import * as tf from '@tensorflow/tfjs';
import { geometryLabel, pixelsPerImage, sameGeometry, type ImageGeometry } from '../../core/image/geometry.js';
import { initTfBackend, type BackendPreference } from '../../core/nn/backend.js';
import { preprocess } from '../../core/nn/input.js';
import type { ForwardMode } from '../../core/nn/models/definition.js';
import { checkClip, clipLayout, clipShapes, clipStateShapes, towerGeometry, type SerializedClip } from './model.js';
import { encodeAll } from './tokenizer.js';
import { embedImages, embedTexts, imageFeatures, tokenBag } from './towers.js';

export interface ClipInferenceOptions {
  /** Backend to initialize if none has been yet (default 'auto'); see initTfBackend. */
  backend?: BackendPreference;
  /** Rows per batch (default 512). */
  batchSize?: number;
  signal?: AbortSignal;
  /** The images' geometry, when the caller knows it: must be the model's. */
  geometry?: ImageGeometry;
}

async function batched(
  model: SerializedClip,
  count: number,
  width: number,
  opts: ClipInferenceOptions,
  run: (weights: tf.Tensor[], mode: ForwardMode, start: number, n: number) => tf.Tensor2D,
): Promise<Float32Array> {
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a non-negative integer, got ${count}`);
  checkClip(model);
  await initTfBackend(opts.backend ?? 'auto');
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 512));
  const shapes = clipShapes(model.config);
  const stateShapes = clipStateShapes(model.config);
  const weights = model.weights.map((w, i) => tf.tensor(w, shapes[i]));
  const state = (model.state ?? []).map((s, i) => tf.tensor(s, stateShapes[i]));
  const mode: ForwardMode = { training: false, state };
  const out = new Float32Array(count * width);
  try {
    for (let start = 0; start < count; start += batchSize) {
      opts.signal?.throwIfAborted();
      const n = Math.min(batchSize, count - start);
      const result = tf.tidy(() => run(weights, mode, start, n));
      out.set(result.dataSync() as Float32Array, start * width);
      result.dispose();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    tf.dispose([...weights, ...state]);
  }
  return out;
}

/** Pixels per image of the model; throws unless `images` holds `count` of them (and `geometry`, when given, is the model's). */
function checkImages(model: SerializedClip, images: Uint8Array, count: number, geometry: ImageGeometry | undefined): number {
  const own = towerGeometry(model.config);
  if (geometry && !sameGeometry(geometry, own)) throw new Error(`the images are ${geometryLabel(geometry)}, the model reads ${geometryLabel(own)}`);
  const per = pixelsPerImage(own);
  if (images.length < count * per) throw new Error(`${images.length} pixel bytes is fewer than ${count} images need`);
  return per;
}

/** Normalised image embeddings of images [0, count): count * embedDim floats. */
export async function encodeImages(model: SerializedClip, images: Uint8Array, count: number, opts: ClipInferenceOptions = {}): Promise<Float32Array> {
  const per = checkImages(model, images, count, opts.geometry);
  const geometry = towerGeometry(model.config);
  return batched(model, count, model.config.embedDim, opts, (weights, mode, start, n) => {
    const x = tf.tensor2d(preprocess(images.subarray(start * per, (start + n) * per), n, undefined, geometry), [n, per]);
    return embedImages(model.config, x, weights, mode);
  });
}

/** Frozen trunk features (before the projection) of images [0, count): count * features floats. */
export async function encodeImageFeatures(model: SerializedClip, images: Uint8Array, count: number, opts: ClipInferenceOptions = {}): Promise<Float32Array> {
  const per = checkImages(model, images, count, opts.geometry);
  const geometry = towerGeometry(model.config);
  return batched(model, count, clipLayout(model.config).features, opts, (weights, mode, start, n) => {
    const x = tf.tensor2d(preprocess(images.subarray(start * per, (start + n) * per), n, undefined, geometry), [n, per]);
    return imageFeatures(model.config, x, weights, mode);
  });
}

/** Normalised text embeddings of `texts`: texts.length * embedDim floats. */
export async function encodeTexts(model: SerializedClip, texts: readonly string[], opts: ClipInferenceOptions = {}): Promise<Float32Array> {
  checkClip(model);
  const { maxTokens, vocabSize } = model.config;
  const tokens = encodeAll(model.vocabulary, texts, maxTokens);
  return batched(model, texts.length, model.config.embedDim, opts, (weights, _mode, start, n) =>
    embedTexts(model.config, tokenBag(tokens.subarray(start * maxTokens, (start + n) * maxTokens), n, maxTokens, vocabSize), weights),
  );
}
