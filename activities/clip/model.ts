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
// (loss.ts). This module holds the model as data; towers.ts the forward pass; inference.ts batched
// encoding; checkpoint.ts the binary formats.
import { createRng } from '../../core/rng.js';
import { CorruptModelError } from '../../core/nn/container.js';
import { glorotUniform, sizeOf } from '../../core/nn/models/definition.js';
import { checkHidden, MAX_PARAMS } from '../../core/nn/models/limits.js';
import { MODEL_ARCHS, modelDefinition, trunkFeatures, type ModelArch } from '../../core/nn/models/registry.js';
import { checkVocabulary, MAX_SEQUENCE, VocabularyError, type Vocabulary } from './tokenizer.js';

export { trunkFeatures };

export const CLIP_FORMAT_VERSION = 1;
/** CLIP's initial temperature τ = 0.07, as logitScale = ln(1/τ). */
export const LOGIT_SCALE_INIT = Math.log(1 / 0.07);
export const LOGIT_SCALE_MIN = 0;
/** CLIP clamps the logit scale at 100, i.e. logitScale <= ln 100. */
export const LOGIT_SCALE_MAX = Math.log(100);

/** Generous bounds for untrusted headers. */
const MAX_DIM = 4096;

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
export function clipLayout(config: Pick<ClipConfig, 'arch' | 'hidden'>): ClipLayout {
  const trunk = modelDefinition(config.arch).trunkShapes(config.hidden).length;
  return { trunk, imageProjection: trunk, tokenEmbedding: trunk + 1, textProjection: trunk + 2, logitScale: trunk + 3, features: trunkFeatures(config.arch, config.hidden) };
}

/** Weight shapes: the classifier trunk (its shapes minus the 10-way layer), then the CLIP parts. */
export function clipShapes(config: ClipConfig): number[][] {
  return [
    ...modelDefinition(config.arch).trunkShapes(config.hidden),
    [trunkFeatures(config.arch, config.hidden), config.embedDim],
    [config.vocabSize, config.tokenWidth],
    [config.tokenWidth, config.embedDim],
    [],
  ];
}

/** Fresh weights: the trunk's own init, then Glorot-uniform kernels (and embedding table), logitScale ln(1/0.07). */
export function initialClip(config: Omit<ClipConfig, 'vocabSize'>, vocabulary: Vocabulary, seed: number | string): SerializedClip {
  checkVocabulary(vocabulary);
  // Field by field: callers pass whole recipes, whose other fields are no part of the model.
  const { arch, hidden, embedDim, tokenWidth, maxTokens } = config;
  const full: ClipConfig = { arch, hidden: [...hidden], embedDim, tokenWidth, maxTokens, vocabSize: vocabulary.tokens.length };
  checkClipConfig(full, 'clip config', Error);
  const rng = createRng(`${seed}|clip-init`);
  const trunk = modelDefinition(arch).initTrunk(full.hidden, rng);
  const weights = [...trunk, ...glorotUniform(clipShapes(full).slice(trunk.length), rng)];
  weights[weights.length - 1]![0] = LOGIT_SCALE_INIT;
  return { format: CLIP_FORMAT_VERSION, config: full, vocabulary: { tokens: [...vocabulary.tokens] }, weights };
}

/** Throws `ErrorType` (CorruptModelError by default) unless `c` is a config within bounds. */
export function checkClipConfig(c: unknown, what = 'clip config', ErrorType: new (m: string) => Error = CorruptModelError): asserts c is ClipConfig {
  const h = c as Record<string, unknown> | null;
  if (!h || typeof h !== 'object') throw new ErrorType(`${what}: not an object`);
  if (!MODEL_ARCHS.includes(h.arch as ModelArch)) throw new ErrorType(`${what}: unsupported arch ${JSON.stringify(h.arch)}`);
  checkHidden(h.hidden, what, ErrorType);
  const bounded = (key: string, max: number) => {
    const v = h[key];
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > max) throw new ErrorType(`${what}: ${key} must be an integer in [1, ${max}], got ${JSON.stringify(v)}`);
  };
  bounded('embedDim', MAX_DIM);
  bounded('tokenWidth', MAX_DIM);
  bounded('maxTokens', MAX_SEQUENCE);
  bounded('vocabSize', 1 << 16);
  const params = clipShapes(h as unknown as ClipConfig).reduce((n, s) => n + sizeOf(s), 0);
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
    if (!(w instanceof Float32Array) || w.length !== sizeOf(shapes[i]!)) {
      throw new CorruptModelError(`clip: weight ${i} should be a Float32Array of ${sizeOf(shapes[i]!)} values (shape ${JSON.stringify(shapes[i])})`);
    }
  });
  const scale = model.weights[model.weights.length - 1]![0]!;
  if (!(scale >= LOGIT_SCALE_MIN && scale <= Math.fround(LOGIT_SCALE_MAX))) {
    throw new CorruptModelError(`clip: logitScale ${scale} is outside [${LOGIT_SCALE_MIN}, ln 100]`);
  }
}
