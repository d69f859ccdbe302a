// The CLIP-style dual encoder trained by the language-supervised runs (paper.md: "CLIP (language
// supervision)"), small enough for a CPU:
//  - image tower: the sweep classifier's trunk for `arch` ('mlp' | 'cnn') and `hidden`, i.e. the
//    classifier without its final 10-way layer (up to the last hidden layer's ReLU output; with
//    hidden = [] the raw pixels or conv features), then a linear projection to `embedDim`;
//  - text tower: a token embedding table [vocab, tokenWidth], masked mean pooling over the
//    non-[PAD] tokens, then a linear projection to `embedDim`. A pooled-embedding encoder rather
//    than CLIP's transformer: the whole sweep trains on CPUs, where a transformer over every
//    caption of every step would cost more than the image tower, and the captions here are short
//    bags of class words and attributes for which word order carries little;
//  - both embeddings L2-normalised; a learned temperature `logitScale` = ln(1/τ), initialised at
//    ln(1/0.07) and kept in [0, ln 100] (CLIP's clamp; the trainer clips after every step).
// Weights are a flat list of Float32Arrays whose shapes are `clipShapes(config)`:
//   [...trunk (classifier order), imageProjection [F, E], tokenEmbedding [V, W],
//    textProjection [W, E], logitScale []]
// with Glorot-uniform kernels and zero biases from createRng(`${seed}|clip-init`), as the
// classifier. Everything is written with plain ops that have gradients on every backend: the
// embedding lookup is a gather with a hand-written scatter gradient (wasm has no
// UnsortedSegmentSum, which tf.gather's stock gradient needs), the loss has a closed-form gradient
// (clipLoss).
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../core/rng.js';
import { initTfBackend, type BackendPreference } from '../../core/nn/backend.js';
import {
  classifierLogits,
  CNN_FEATURES,
  CorruptModelError,
  INPUT_SIZE,
  MODEL_ARCHS,
  modelShapes,
  preprocess,
  type ModelArch,
} from '../../core/nn/classifier.js';
import { checkVocabulary, encodeAll, MAX_SEQUENCE, PAD_ID, VocabularyError, type Vocabulary } from './tokenizer.js';

export const CLIP_FORMAT_VERSION = 1;
/** CLIP's initial temperature τ = 0.07, as logitScale = ln(1/τ). */
export const LOGIT_SCALE_INIT = Math.log(1 / 0.07);
export const LOGIT_SCALE_MIN = 0;
/** CLIP clamps the logit scale at 100, i.e. logitScale <= ln 100. */
export const LOGIT_SCALE_MAX = Math.log(100);

/** Generous bounds for untrusted headers. */
const MAX_LAYERS = 16;
const MAX_WIDTH = 65536;
const MAX_DIM = 4096;
const MAX_PARAMS = 1 << 28;

export interface ClipConfig {
  arch: ModelArch;
  hidden: number[];
  embedDim: number;
  tokenWidth: number;
  /** Tokens per caption (longer captions are cut, shorter ones padded). */
  maxTokens: number;
  vocabSize: number;
}

/** A trained dual encoder as plain data (no tensors). */
export interface SerializedClip {
  format: typeof CLIP_FORMAT_VERSION;
  config: ClipConfig;
  vocabulary: Vocabulary;
  /** In `clipShapes(config)` order; see the file comment. */
  weights: Float32Array[];
}

/** Where each part of the model sits in the flat weight list. */
export interface ClipLayout {
  /** Trunk tensors are weights[0 .. trunk). */
  trunk: number;
  imageProjection: number;
  tokenEmbedding: number;
  textProjection: number;
  logitScale: number;
  /** Width of the trunk output (the image features the projection and the linear probe see). */
  features: number;
}

/** Width of the image trunk's output: the last hidden width, or its input without hidden layers. */
export function trunkFeatures(arch: ModelArch, hidden: readonly number[]): number {
  return hidden.length ? hidden[hidden.length - 1]! : arch === 'cnn' ? CNN_FEATURES : INPUT_SIZE;
}

export function clipLayout(config: Pick<ClipConfig, 'arch' | 'hidden'>): ClipLayout {
  const trunk = modelShapes(config.arch, config.hidden).length - 2;
  return { trunk, imageProjection: trunk, tokenEmbedding: trunk + 1, textProjection: trunk + 2, logitScale: trunk + 3, features: trunkFeatures(config.arch, config.hidden) };
}

/** Weight shapes: the classifier trunk (its shapes minus the 10-way layer), then the CLIP parts. */
export function clipShapes(config: ClipConfig): number[][] {
  const trunk = modelShapes(config.arch, config.hidden).slice(0, -2);
  return [
    ...trunk,
    [trunkFeatures(config.arch, config.hidden), config.embedDim],
    [config.vocabSize, config.tokenWidth],
    [config.tokenWidth, config.embedDim],
    [],
  ];
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Fresh weights: Glorot-uniform kernels (and embedding table), zero biases, logitScale ln(1/0.07). */
export function initialClip(config: Omit<ClipConfig, 'vocabSize'>, vocabulary: Vocabulary, seed: number | string): SerializedClip {
  checkVocabulary(vocabulary);
  // Field by field: callers pass whole recipes, whose other fields are no part of the model.
  const { arch, hidden, embedDim, tokenWidth, maxTokens } = config;
  const full: ClipConfig = { arch, hidden: [...hidden], embedDim, tokenWidth, maxTokens, vocabSize: vocabulary.tokens.length };
  checkClipConfig(full, 'clip config', Error);
  const rng = createRng(`${seed}|clip-init`);
  const shapes = clipShapes(full);
  const weights = shapes.map((shape) => {
    const values = new Float32Array(size(shape));
    if (shape.length >= 2) {
      const receptive = size(shape.slice(0, -2));
      const limit = Math.sqrt(6 / (receptive * (shape[shape.length - 2]! + shape[shape.length - 1]!)));
      for (let i = 0; i < values.length; i++) values[i] = (2 * rng.uniform() - 1) * limit;
    }
    return values;
  });
  weights[weights.length - 1]![0] = LOGIT_SCALE_INIT;
  return { format: CLIP_FORMAT_VERSION, config: full, vocabulary: { tokens: [...vocabulary.tokens] }, weights };
}

/** Throws `ErrorType` (CorruptModelError by default) unless `c` is a config within bounds. */
export function checkClipConfig(c: unknown, what = 'clip config', ErrorType: new (m: string) => Error = CorruptModelError): asserts c is ClipConfig {
  const h = c as Record<string, unknown> | null;
  if (!h || typeof h !== 'object') throw new ErrorType(`${what}: not an object`);
  if (!MODEL_ARCHS.includes(h.arch as ModelArch)) throw new ErrorType(`${what}: unsupported arch ${JSON.stringify(h.arch)}`);
  const hidden = h.hidden;
  if (!Array.isArray(hidden) || hidden.length > MAX_LAYERS || !hidden.every((u) => Number.isInteger(u) && u >= 1 && u <= MAX_WIDTH)) {
    throw new ErrorType(`${what}: hidden must be up to ${MAX_LAYERS} integers in [1, ${MAX_WIDTH}], got ${JSON.stringify(hidden)?.slice(0, 200)}`);
  }
  const bounded = (key: string, max: number) => {
    const v = h[key];
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > max) throw new ErrorType(`${what}: ${key} must be an integer in [1, ${max}], got ${JSON.stringify(v)}`);
  };
  bounded('embedDim', MAX_DIM);
  bounded('tokenWidth', MAX_DIM);
  bounded('maxTokens', MAX_SEQUENCE);
  bounded('vocabSize', 1 << 16);
  const params = clipShapes(h as unknown as ClipConfig).reduce((n, s) => n + size(s), 0);
  if (params > MAX_PARAMS) throw new ErrorType(`${what}: ${params} parameters exceeds the limit of ${MAX_PARAMS}`);
}

/** Throws CorruptModelError unless `model`'s config, vocabulary and weight sizes are consistent. */
export function checkClip(model: SerializedClip): void {
  if (model?.format !== CLIP_FORMAT_VERSION) throw new CorruptModelError(`clip: unsupported format ${JSON.stringify(model?.format)}`);
  checkClipConfig(model.config, 'clip config');
  try {
    checkVocabulary(model.vocabulary);
  } catch (err) {
    if (err instanceof VocabularyError) throw new CorruptModelError(`clip: ${err.message}`);
    throw err;
  }
  if (model.vocabulary.tokens.length !== model.config.vocabSize) {
    throw new CorruptModelError(`clip: vocabulary has ${model.vocabulary.tokens.length} tokens, config says ${model.config.vocabSize}`);
  }
  const shapes = clipShapes(model.config);
  if (!Array.isArray(model.weights) || model.weights.length !== shapes.length) {
    throw new CorruptModelError(`clip: expected ${shapes.length} weight arrays, got ${model.weights?.length}`);
  }
  model.weights.forEach((w, i) => {
    if (!(w instanceof Float32Array) || w.length !== size(shapes[i]!)) {
      throw new CorruptModelError(`clip: weight ${i} should be a Float32Array of ${size(shapes[i]!)} values (shape ${JSON.stringify(shapes[i])})`);
    }
  });
  const scale = model.weights[model.weights.length - 1]![0]!;
  if (!(scale >= LOGIT_SCALE_MIN && scale <= Math.fround(LOGIT_SCALE_MAX))) {
    throw new CorruptModelError(`clip: logitScale ${scale} is outside [${LOGIT_SCALE_MIN}, ln 100]`);
  }
}

// --- forward pass (tensors; call inside tf.tidy) --------------------------------------------------

/** Trunk output [n, F] for preprocessed images x [n, 784]: the classifier up to its last hidden ReLU. */
export function imageFeatures(config: Pick<ClipConfig, 'arch' | 'hidden'>, x: tf.Tensor2D, weights: readonly tf.Tensor[]): tf.Tensor2D {
  const { trunk } = clipLayout(config);
  // classifierLogits leaves its last dense layer linear; here that layer is a hidden one, so ReLU it.
  const h = classifierLogits(config.arch, x, weights.slice(0, trunk));
  return config.hidden.length ? tf.relu(h) : h;
}

/**
 * Rows scaled to unit L2 norm (an all-zero row stays zero), with the closed-form gradient
 * dx = (g - y (g·y)) / |x| (5 ops where autodiff of the forward pass takes ~12).
 */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad(((v: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const norm = tf.sqrt(tf.add(tf.sum(tf.square(v), 1, true), 1e-12));
    const y = tf.div(v, norm);
    save([y, norm]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [yy, nn] = saved as [tf.Tensor, tf.Tensor];
        return tf.div(tf.sub(dy, tf.mul(yy, tf.sum(tf.mul(dy, yy), 1, true))), nn);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor2D;
}

/** Normalised image embeddings [n, E]. */
export function embedImages(config: ClipConfig, x: tf.Tensor2D, weights: readonly tf.Tensor[]): tf.Tensor2D {
  const layout = clipLayout(config);
  return l2Normalize(tf.matMul(imageFeatures(config, x, weights), weights[layout.imageProjection] as tf.Tensor2D));
}

/**
 * A batch of token rows as what the text tower's masked mean pooling needs: the distinct token
 * ids present (ascending; [PAD] never, unless a batch has no token at all) and `bag` [rows, ids],
 * where bag[r][k] = (occurrences of ids[k] in row r) / (non-PAD tokens of row r). Then
 * pooled = bag · E[ids] is exactly the mean of the row's token embeddings.
 */
export interface TokenBag {
  rows: number;
  ids: Int32Array;
  bag: Float32Array;
}

export function tokenBag(tokens: Int32Array, rows: number, maxTokens: number, vocabSize: number): TokenBag {
  if (tokens.length < rows * maxTokens) throw new RangeError(`${tokens.length} token ids for ${rows} rows of ${maxTokens}`);
  const present = new Uint8Array(vocabSize);
  for (let i = 0; i < rows * maxTokens; i++) {
    const id = tokens[i]!;
    if (!(id >= 0 && id < vocabSize)) throw new RangeError(`token id ${id} at ${i} is outside the vocabulary [0, ${vocabSize})`);
    present[id] = 1;
  }
  present[PAD_ID] = 0;
  const slot = new Int32Array(vocabSize).fill(-1);
  const ids: number[] = [];
  for (let id = 0; id < vocabSize; id++) if (present[id]) slot[id] = ids.push(id) - 1;
  if (ids.length === 0) ids.push(PAD_ID); // keep shapes non-empty; its bag column stays 0
  const bag = new Float32Array(rows * ids.length);
  for (let r = 0; r < rows; r++) {
    let count = 0;
    for (let t = 0; t < maxTokens; t++) if (tokens[r * maxTokens + t] !== PAD_ID) count++;
    for (let t = 0; t < maxTokens; t++) {
      const id = tokens[r * maxTokens + t]!;
      if (id !== PAD_ID) bag[r * ids.length + slot[id]!]! += 1 / count;
    }
  }
  return { rows, ids: Int32Array.from(ids), bag };
}

/** Rows `ids` of `table`, with a scatter gradient (no UnsortedSegmentSum; ids must be distinct). */
function gatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const op = tf.customGrad(((t: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([ids]); // kept for the backward pass (a closed-over tensor would be disposed by then)
    return {
      value: tf.gather(t, ids),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.scatterND(tf.expandDims(saved[0]!, 1), dy, t.shape),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(table) as tf.Tensor2D;
}

/** Normalised text embeddings [rows, E] of a token bag. */
export function embedTexts(config: ClipConfig, bag: TokenBag, weights: readonly tf.Tensor[]): tf.Tensor2D {
  const layout = clipLayout(config);
  const table = gatherRows(weights[layout.tokenEmbedding] as tf.Tensor2D, tf.tensor1d(bag.ids, 'int32'));
  const pooled = tf.matMul(tf.tensor2d(bag.bag, [bag.rows, bag.ids.length]), table);
  return l2Normalize(tf.matMul(pooled, weights[layout.textProjection] as tf.Tensor2D));
}

/** exp(logitScale) · I · Tᵀ: logits[i][j] scores image i against text j. */
export function clipLogits(imageEmb: tf.Tensor2D, textEmb: tf.Tensor2D, logitScale: tf.Tensor): tf.Tensor2D {
  return tf.mul(tf.matMul(imageEmb, tf.transpose(textEmb)), tf.exp(logitScale));
}

/**
 * CLIP's symmetric InfoNCE: the mean of the image→text cross-entropy (rows of the logits Z,
 * target = the matching text on the diagonal) and the text→image one (columns). Embeddings are
 * used as given (the towers normalise theirs). Written as
 *   (Σ_i logsumexp(Z_i·) + Σ_j logsumexp(Z_·j)) / 2n  -  exp(logitScale) Σ_i I_i·T_i / n
 * where the diagonal term is a row-wise dot product (no identity mask, no transposed copy) and
 * the two log-sum-exps share one op with the closed-form gradient (softmax_rows + softmax_cols)/2n:
 * about half the ops of two generic cross-entropies (the classifier's meanSoftmaxCrossEntropy on
 * the logits and their transpose), which took a CLIP step on native TensorFlow, where every op
 * has a sizeable fixed cost, from ~6.5k to ~9k img/s. Built from plain ops (no fused kernels);
 * the tests check value and gradient against a float64 reference.
 */
export function clipLoss(imageEmb: tf.Tensor2D, textEmb: tf.Tensor2D, logitScale: tf.Tensor): tf.Scalar {
  const n = imageEmb.shape[0];
  if (textEmb.shape[0] !== n) throw new Error(`clipLoss: ${n} image embeddings but ${textEmb.shape[0]} text embeddings`);
  const scale = tf.exp(logitScale);
  const logits = tf.mul(tf.matMul(imageEmb, tf.transpose(textEmb)), scale) as tf.Tensor2D;
  const positives = tf.mul(tf.sum(tf.mul(imageEmb, textEmb)), scale);
  return tf.sub(symmetricLogSumExp(logits), tf.div(positives, n)) as tf.Scalar;
}

/** (Σ rows' logsumexp + Σ columns' logsumexp) / 2n of a square [n, n] matrix. */
function symmetricLogSumExp(z: tf.Tensor2D): tf.Scalar {
  const op = tf.customGrad(((x: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const n = x.shape[0];
    const side = (axis: number) => {
      const max = tf.max(x, axis, true);
      const e = tf.exp(tf.sub(x, max));
      const sum = tf.sum(e, axis, true);
      return { lse: tf.add(tf.log(sum), max), softmax: tf.div(e, sum) };
    };
    const rows = side(1);
    const cols = side(0);
    save([rows.softmax, cols.softmax]);
    return {
      value: tf.div(tf.add(tf.sum(rows.lse), tf.sum(cols.lse)), 2 * n),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.add(saved[0]!, saved[1]!), tf.div(dy, 2 * n)),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(z) as tf.Scalar;
}

/** `clipLoss` in float64 JS, directly from the definition (tests compare against it). */
export function clipLossReference(imageEmb: readonly (readonly number[])[], textEmb: readonly (readonly number[])[], logitScale: number): number {
  const n = imageEmb.length;
  if (textEmb.length !== n || n === 0) throw new Error('clipLossReference: need the same positive number of image and text embeddings');
  const scale = Math.exp(logitScale);
  const logits = imageEmb.map((a) => textEmb.map((b) => scale * a.reduce((s, ai, k) => s + ai * b[k]!, 0)));
  const logSumExp = (xs: number[]) => {
    const m = Math.max(...xs);
    return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
  };
  let rows = 0;
  let cols = 0;
  for (let i = 0; i < n; i++) {
    rows += logSumExp(logits[i]!) - logits[i]![i]!;
    cols += logSumExp(logits.map((row) => row[i]!)) - logits[i]![i]!;
  }
  return (rows / n + cols / n) / 2;
}

// --- batched inference (host arrays in, host arrays out) ------------------------------------------

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
