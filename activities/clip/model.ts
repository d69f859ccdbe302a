// The CLIP-style dual encoder trained by the language-supervised runs (paper.md: "CLIP (language
// supervision)"), small enough for a CPU:
//  - image tower: the sweep classifier's trunk for `arch` ('mlp' | 'cnn' | 'resnet') and `hidden`
//    (or the ResNet's depth and width) at the data's `geometry` (absent: 28x28 grey), i.e. the
//    classifier without its class layer (up to the last hidden layer's ReLU output; with
//    hidden = [] the raw pixels or conv features; the ResNet's pooled features), then a linear
//    projection to `embedDim`. A ResNet tower has non-trained state (batch norm statistics,
//    `SerializedClip.state`), updated by training and read by inference as the classifier's;
//  - text tower: a token embedding table [vocab, tokenWidth], masked mean pooling over the
//    non-[PAD] tokens, then a linear projection to `embedDim`. A pooled-embedding encoder rather
//    than CLIP's transformer: the whole sweep trains on CPUs, where a transformer over every
//    caption of every step would cost more than the image tower, and the captions here are short
//    bags of class words and attributes for which word order carries little;
//  - both embeddings L2-normalised; a learned temperature `logitScale` = ln(1/τ), initialised at
//    ln(1/0.07) and kept in [0, ln 100] (CLIP's clamp; the trainer clips after every step).
// `geometry` and `resnet` are in the config only when set (a 28x28 grey mlp/cnn model's bytes are
// what they were before geometries). Weights are a flat list of Float32Arrays whose shapes are
// `clipShapes(config)`:
//   [...trunk (classifier order), imageProjection [F, E], tokenEmbedding [V, W],
//    textProjection [W, E], logitScale []]
// with Glorot-uniform kernels and zero biases from createRng(`${seed}|clip-init`), as the
// classifier. Everything is written with plain ops that have gradients on every backend: the
// embedding lookup is a gather with a hand-written scatter gradient (wasm has no
// UnsortedSegmentSum, which tf.gather's stock gradient needs), the loss has a closed-form gradient
// (loss.ts). This module holds the model as data; towers.ts the forward pass; inference.ts batched
// encoding; checkpoint.ts the binary formats.
import { createRng } from '../../core/rng.js';
import { checkGeometry, FASHION_MNIST_GEOMETRY, sameGeometry, type ImageGeometry } from '../../core/image/geometry.js';
import { CorruptModelError } from '../../core/nn/container.js';
import { DEFAULT_RESNET, glorotUniform, modelSpec, sizeOf, type ModelSpec, type ResNetShape } from '../../core/nn/models/definition.js';
import { checkHidden, MAX_PARAMS } from '../../core/nn/models/limits.js';
import { MODEL_ARCHS, modelDefinition, trunkFeatures, type ModelArch } from '../../core/nn/models/registry.js';
import { checkResNetShape } from '../../core/nn/models/resnet.js';
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
  /** The images the tower reads; absent: 28x28 grey. */
  geometry?: ImageGeometry;
  /** The ResNet tower's depth and width (arch 'resnet' only). */
  resnet?: ResNetShape;
}

/** A trained dual encoder as plain data (no tensors). */
export interface SerializedClip {
  format: typeof CLIP_FORMAT_VERSION;
  config: ClipConfig;
  vocabulary: Vocabulary;
  /** In `clipShapes(config)` order; see the file comment. */
  weights: Float32Array[];
  /** The image tower's non-trained state in `clipStateShapes(config)` order (ResNet towers only). */
  state?: Float32Array[];
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

/** The fields of a config that decide the image tower. */
export type TowerConfig = Pick<ClipConfig, 'arch' | 'hidden' | 'geometry' | 'resnet'>;

/** The image tower's model spec (the class count is no part of a trunk). */
export function towerSpec(config: TowerConfig): ModelSpec {
  return modelSpec(config.hidden, { ...(config.geometry ? { geometry: config.geometry } : {}), ...(config.arch === 'resnet' ? { resnet: config.resnet ?? DEFAULT_RESNET } : {}) });
}

/** The image geometry a config reads. */
export const towerGeometry = (config: TowerConfig): ImageGeometry => config.geometry ?? FASHION_MNIST_GEOMETRY;

export function clipLayout(config: TowerConfig): ClipLayout {
  const spec = towerSpec(config);
  const trunk = modelDefinition(config.arch).trunkShapes(spec).length;
  return { trunk, imageProjection: trunk, tokenEmbedding: trunk + 1, textProjection: trunk + 2, logitScale: trunk + 3, features: trunkFeatures(config.arch, spec) };
}

/** Shapes of the image tower's non-trained state ([] but for a ResNet tower). */
export function clipStateShapes(config: TowerConfig): number[][] {
  return modelDefinition(config.arch).stateShapes(towerSpec(config));
}

/** Weight shapes: the classifier trunk (its shapes minus the class layer), then the CLIP parts. */
export function clipShapes(config: ClipConfig): number[][] {
  const spec = towerSpec(config);
  return [
    ...modelDefinition(config.arch).trunkShapes(spec),
    [trunkFeatures(config.arch, spec), config.embedDim],
    [config.vocabSize, config.tokenWidth],
    [config.tokenWidth, config.embedDim],
    [],
  ];
}

/**
 * The config of `arch`/`hidden`/... at `geometry`: geometry only when it is not 28x28 grey, the
 * ResNet's shape (default depth 20, width 16) and no hidden widths for a ResNet tower.
 */
export function clipConfig(c: Omit<ClipConfig, 'vocabSize'>, vocabSize: number): ClipConfig {
  const { arch, hidden, embedDim, tokenWidth, maxTokens, geometry, resnet } = c;
  return {
    arch,
    hidden: arch === 'resnet' ? [] : [...hidden],
    embedDim,
    tokenWidth,
    maxTokens,
    vocabSize,
    ...(geometry && !sameGeometry(geometry, FASHION_MNIST_GEOMETRY) ? { geometry: { size: geometry.size, channels: geometry.channels } } : {}),
    ...(arch === 'resnet' ? { resnet: { ...(resnet ?? DEFAULT_RESNET) } } : {}),
  };
}

/** Fresh weights: the trunk's own init, then Glorot-uniform kernels (and embedding table), logitScale ln(1/0.07). */
export function initialClip(config: Omit<ClipConfig, 'vocabSize'>, vocabulary: Vocabulary, seed: number | string): SerializedClip {
  checkVocabulary(vocabulary);
  // Field by field: callers pass whole recipes, whose other fields are no part of the model.
  const full = clipConfig(config, vocabulary.tokens.length);
  checkClipConfig(full, 'clip config', Error);
  const rng = createRng(`${seed}|clip-init`);
  const definition = modelDefinition(full.arch);
  const trunk = definition.initTrunk(towerSpec(full), rng);
  const weights = [...trunk, ...glorotUniform(clipShapes(full).slice(trunk.length), rng)];
  weights[weights.length - 1]![0] = LOGIT_SCALE_INIT;
  const state = definition.initState(towerSpec(full));
  return { format: CLIP_FORMAT_VERSION, config: full, vocabulary: { tokens: [...vocabulary.tokens] }, weights, ...(state.length ? { state } : {}) };
}

/** Throws `ErrorType` (CorruptModelError by default) unless `c` is a config within bounds. */
export function checkClipConfig(c: unknown, what = 'clip config', ErrorType: new (m: string) => Error = CorruptModelError): asserts c is ClipConfig {
  const h = c as Record<string, unknown> | null;
  if (!h || typeof h !== 'object') throw new ErrorType(`${what}: not an object`);
  if (!MODEL_ARCHS.includes(h.arch as ModelArch)) throw new ErrorType(`${what}: unsupported arch ${JSON.stringify(h.arch)}`);
  checkHidden(h.hidden, what, ErrorType);
  if (h.geometry !== undefined) {
    try {
      checkGeometry(h.geometry as ImageGeometry, `${what} geometry`);
    } catch (err) {
      throw new ErrorType((err as Error).message);
    }
  }
  if (h.arch === 'resnet') {
    checkResNetShape(h.resnet, what, ErrorType);
    if ((h.hidden as number[]).length > 0) throw new ErrorType(`${what}: a resnet tower has no hidden widths`);
  }
  else if (h.resnet !== undefined) throw new ErrorType(`${what}: resnet shape given for arch '${String(h.arch)}'`);
  const bounded = (key: string, max: number) => {
    const v = h[key];
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > max) throw new ErrorType(`${what}: ${key} must be an integer in [1, ${max}], got ${JSON.stringify(v)}`);
  };
  bounded('embedDim', MAX_DIM);
  bounded('tokenWidth', MAX_DIM);
  bounded('maxTokens', MAX_SEQUENCE);
  bounded('vocabSize', 1 << 16);
  const params = [...clipShapes(h as unknown as ClipConfig), ...clipStateShapes(h as unknown as ClipConfig)].reduce((n, s) => n + sizeOf(s), 0);
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
  const states = clipStateShapes(model.config);
  const state = model.state ?? [];
  if (!Array.isArray(state) || state.length !== states.length || state.some((s, i) => !(s instanceof Float32Array) || s.length !== sizeOf(states[i]!))) {
    throw new CorruptModelError(`clip: the image tower's state should be ${states.length} arrays of shapes ${JSON.stringify(states).slice(0, 200)}`);
  }
  const scale = model.weights[model.weights.length - 1]![0]!;
  if (!(scale >= LOGIT_SCALE_MIN && scale <= Math.fround(LOGIT_SCALE_MAX))) {
    throw new CorruptModelError(`clip: logitScale ${scale} is outside [${LOGIT_SCALE_MIN}, ln 100]`);
  }
}
