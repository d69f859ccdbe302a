// Binary formats of the CLIP model and its training checkpoints, the same container as the
// classifier's (activities/train/classifier.ts): 4-byte magic, uint32 LE header length, UTF-8
// JSON header, zero padding to a multiple of 4, then float32 LE sections whose sizes the header
// determines exactly. The header carries the config and the whole vocabulary (a model is useless
// without the token ids it was trained on). Decoders treat the bytes as untrusted: every size is
// bounded and checked before use, and failures are CorruptModelError (the classifier's class, so
// an activity adapter handles both models alike).
import { ADAM } from '../../core/nn/adam.js';
import type { Checkpoint } from '../../core/nn/classifier.js';
import { CorruptModelError, readContainer, readFloatSections, writeContainer } from '../../core/nn/container.js';
import { CLIP_FORMAT_VERSION, checkClip, checkClipConfig, clipShapes, type ClipConfig, type SerializedClip } from './model.js';
import { checkVocabulary, VocabularyError, type Vocabulary } from './tokenizer.js';

export type { Checkpoint } from '../../core/nn/classifier.js';

export const CLIP_MODEL_MAGIC = 'SSCL';
export const CLIP_CHECKPOINT_MAGIC = 'SSCC';
export const CLIP_CHECKPOINT_FORMAT_VERSION = 1;
/** A 65536-token vocabulary of 64-character words fits. */
const MAX_HEADER_BYTES = 1 << 23;

/** What a resumed run must match: everything that decides the weights, except the data bytes. */
export interface ClipRunFingerprint {
  seed: string;
  count: number;
  arch: string;
  hidden: number[];
  embedDim: number;
  tokenWidth: number;
  maxTokens: number;
  /** vocabularyDigest of the run's vocabulary. */
  vocabulary: string;
  epochs: number;
  minSteps: number;
  batchSize: number;
  learningRate: number;
  shuffleWindow: number;
}

export interface ClipCheckpointState {
  step: number;
  totalSteps: number;
  /** Loss of the last completed step's batch (NaN before the first step). */
  lastLoss: number;
  run: ClipRunFingerprint;
  model: SerializedClip;
  /** Adam slots, one per weight tensor (logitScale included), same order and sizes as the weights. */
  adam: { iteration: number; m: Float32Array[]; v: Float32Array[] };
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function modelHeader(model: SerializedClip) {
  return {
    format: model.format,
    config: model.config,
    shapes: clipShapes(model.config),
    vocabulary: model.vocabulary.tokens,
    preprocessing: 'pixel/255',
    tokenizer: 'lowercase letter/digit words, [PAD]=0, [UNK]=1',
  };
}

/** Validates a model header; returns its config, vocabulary and shapes. */
function readModelHeader(h: unknown, what: string): { config: ClipConfig; vocabulary: Vocabulary; shapes: number[][] } {
  const header = h as Record<string, unknown> | null;
  if (!header || typeof header !== 'object') throw new CorruptModelError(`${what}: model header missing`);
  if (header.format !== CLIP_FORMAT_VERSION) {
    throw new CorruptModelError(`${what}: unsupported format version ${JSON.stringify(header.format)} (this code reads ${CLIP_FORMAT_VERSION})`);
  }
  checkClipConfig(header.config, `${what} config`);
  const c = header.config;
  const config: ClipConfig = { arch: c.arch, hidden: [...c.hidden], embedDim: c.embedDim, tokenWidth: c.tokenWidth, maxTokens: c.maxTokens, vocabSize: c.vocabSize };
  const vocabulary = { tokens: header.vocabulary };
  try {
    checkVocabulary(vocabulary);
  } catch (err) {
    if (err instanceof VocabularyError) throw new CorruptModelError(`${what}: ${err.message}`);
    throw err;
  }
  if (vocabulary.tokens.length !== config.vocabSize) throw new CorruptModelError(`${what}: ${vocabulary.tokens.length} vocabulary tokens, config says ${config.vocabSize}`);
  const shapes = clipShapes(config);
  if (JSON.stringify(header.shapes) !== JSON.stringify(shapes)) {
    throw new CorruptModelError(`${what}: header shapes ${JSON.stringify(header.shapes)?.slice(0, 200)} do not match the config (expected ${JSON.stringify(shapes)})`);
  }
  return { config, vocabulary: { tokens: [...vocabulary.tokens] }, shapes };
}

/** Model -> bytes (magic 'SSCL': JSON header {format, config, shapes, vocabulary, ...}, float32 LE weights). */
export function serializeClip(model: SerializedClip): Uint8Array {
  checkClip(model);
  return writeContainer(CLIP_MODEL_MAGIC, modelHeader(model), model.weights, MAX_HEADER_BYTES);
}

/** Bytes -> model; throws CorruptModelError naming the problem for anything malformed. */
export function deserializeClip(bytes: Uint8Array): SerializedClip {
  const what = 'clip model';
  const { header, view, payloadOffset } = readContainer(bytes, CLIP_MODEL_MAGIC, what, MAX_HEADER_BYTES);
  const { config, vocabulary, shapes } = readModelHeader(header, what);
  const sizes = shapes.map(sizeOf);
  const expected = payloadOffset + 4 * sizes.reduce((a, b) => a + b, 0);
  if (bytes.length !== expected) throw new CorruptModelError(`${what}: ${bytes.length} bytes, expected ${expected}`);
  const model: SerializedClip = { format: CLIP_FORMAT_VERSION, config, vocabulary, weights: readFloatSections(view, payloadOffset, sizes) };
  checkClip(model); // the logitScale range
  return model;
}

/** Checkpoint -> bytes (magic 'SSCC'): header {step, run, adam hyperparameters, model header}, then weights, m, v. */
export function encodeClipCheckpoint(state: ClipCheckpointState): Uint8Array {
  checkClip(state.model);
  const sizes = state.model.weights.map((w) => w.length);
  for (const [name, slots] of [['m', state.adam.m], ['v', state.adam.v]] as const) {
    if (slots.length !== sizes.length || slots.some((s, i) => !(s instanceof Float32Array) || s.length !== sizes[i])) {
      throw new Error(`clip checkpoint: Adam slot ${name} does not match the model's weight sizes`);
    }
  }
  const header = {
    format: CLIP_CHECKPOINT_FORMAT_VERSION,
    step: state.step,
    totalSteps: state.totalSteps,
    lastLoss: Number.isFinite(state.lastLoss) ? state.lastLoss : null,
    run: state.run,
    adam: { ...ADAM, iteration: state.adam.iteration },
    model: modelHeader(state.model),
  };
  return writeContainer(CLIP_CHECKPOINT_MAGIC, header, [...state.model.weights, ...state.adam.m, ...state.adam.v], MAX_HEADER_BYTES);
}

const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

function readRun(r: unknown, what: string): ClipRunFingerprint {
  const run = r as Record<string, unknown> | null;
  const counts = ['count', 'embedDim', 'tokenWidth', 'maxTokens', 'epochs', 'minSteps', 'batchSize', 'shuffleWindow'] as const;
  if (
    !run ||
    typeof run !== 'object' ||
    typeof run.seed !== 'string' ||
    typeof run.arch !== 'string' ||
    typeof run.vocabulary !== 'string' ||
    !Array.isArray(run.hidden) ||
    !run.hidden.every(isCount) ||
    typeof run.learningRate !== 'number' ||
    !counts.every((k) => isCount(run[k]))
  ) {
    throw new CorruptModelError(`${what}: run fingerprint is malformed`);
  }
  // Rebuilt field by field, in the order trainClip writes it (resume compares JSON strings).
  return {
    seed: run.seed,
    count: run.count as number,
    arch: run.arch,
    hidden: [...(run.hidden as number[])],
    embedDim: run.embedDim as number,
    tokenWidth: run.tokenWidth as number,
    maxTokens: run.maxTokens as number,
    vocabulary: run.vocabulary,
    epochs: run.epochs as number,
    minSteps: run.minSteps as number,
    batchSize: run.batchSize as number,
    learningRate: run.learningRate,
    shuffleWindow: run.shuffleWindow as number,
  };
}

/** Bytes -> checkpoint state; throws CorruptModelError for anything malformed. */
export function decodeClipCheckpoint(bytes: Uint8Array): ClipCheckpointState {
  const what = 'clip checkpoint';
  const { header, view, payloadOffset } = readContainer(bytes, CLIP_CHECKPOINT_MAGIC, what, MAX_HEADER_BYTES);
  if (header.format !== CLIP_CHECKPOINT_FORMAT_VERSION) {
    throw new CorruptModelError(`${what}: unsupported format version ${JSON.stringify(header.format)} (this code reads ${CLIP_CHECKPOINT_FORMAT_VERSION})`);
  }
  const { step, totalSteps, lastLoss, adam } = header;
  if (!isCount(step) || !isCount(totalSteps)) throw new CorruptModelError(`${what}: step/totalSteps must be non-negative integers`);
  if (lastLoss !== null && typeof lastLoss !== 'number') throw new CorruptModelError(`${what}: lastLoss must be a number or null`);
  const a = adam as Record<string, unknown> | null;
  if (!a || typeof a !== 'object' || !isCount(a.iteration) || a.beta1 !== ADAM.beta1 || a.beta2 !== ADAM.beta2 || a.epsilon !== ADAM.epsilon) {
    throw new CorruptModelError(`${what}: adam state ${JSON.stringify(adam)?.slice(0, 200)} is missing fields or uses other hyperparameters`);
  }
  if (a.iteration !== step) throw new CorruptModelError(`${what}: adam iteration ${a.iteration} differs from step ${step}`);
  const run = readRun(header.run, what);
  const { config, vocabulary, shapes } = readModelHeader(header.model, what);
  const sameConfig =
    run.arch === config.arch &&
    JSON.stringify(run.hidden) === JSON.stringify(config.hidden) &&
    run.embedDim === config.embedDim &&
    run.tokenWidth === config.tokenWidth &&
    run.maxTokens === config.maxTokens;
  if (!sameConfig) throw new CorruptModelError(`${what}: the model config differs from the run fingerprint`);
  const sizes = shapes.map(sizeOf);
  const floats = sizes.reduce((x, y) => x + y, 0);
  const expected = payloadOffset + 3 * 4 * floats;
  if (bytes.length !== expected) throw new CorruptModelError(`${what}: ${bytes.length} bytes, expected ${expected}`);
  const sections = readFloatSections(view, payloadOffset, [...sizes, ...sizes, ...sizes]);
  const k = sizes.length;
  const model: SerializedClip = { format: CLIP_FORMAT_VERSION, config, vocabulary, weights: sections.slice(0, k) };
  checkClip(model);
  return {
    step,
    totalSteps,
    lastLoss: lastLoss === null ? Number.NaN : (lastLoss as number),
    run,
    model,
    adam: { iteration: a.iteration, m: sections.slice(k, 2 * k), v: sections.slice(2 * k) },
  };
}

/** The step and bytes of a stored checkpoint, as trainClip's `resume` takes them. */
export function clipCheckpointFromBytes(bytes: Uint8Array): Checkpoint {
  const state = decodeClipCheckpoint(bytes);
  return { step: state.step, totalSteps: state.totalSteps, bytes };
}
