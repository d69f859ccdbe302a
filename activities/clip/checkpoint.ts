// Binary formats of the CLIP model and its training checkpoints, the same container as the
// classifier's (core/nn/container.ts): 4-byte magic, uint32 LE header length, UTF-8
// JSON header, zero padding to a multiple of 4, then float32 LE sections whose sizes the header
// determines exactly. The header carries the config and the whole vocabulary (a model is useless
// without the token ids it was trained on). Decoders treat the bytes as untrusted: every size is
// bounded and checked before use, and failures are CorruptModelError (the classifier's class, so
// an activity adapter handles both models alike).
import {
  CorruptModelError,
  isCount,
  readCheckpoint,
  readContainer,
  readFloatSections,
  writeCheckpoint,
  writeContainer,
  type CheckpointFields,
  type CheckpointFormat,
} from '../../core/nn/container.js';
import { checkGeometry, type ImageGeometry } from '../../core/image/geometry.js';
import { sizeOf, type ResNetShape } from '../../core/nn/models/definition.js';
import { checkResNetShape } from '../../core/nn/models/resnet.js';
import { isSchedule, type LearningRateSchedule } from '../../core/nn/schedule.js';
import type { Checkpoint } from '../../core/nn/trainer.js';
import { CLIP_FORMAT_VERSION, checkClip, checkClipConfig, clipShapes, clipStateShapes, type ClipConfig, type SerializedClip } from './model.js';
import { checkVocabulary, VocabularyError, type Vocabulary } from './tokenizer.js';

export type { Checkpoint } from '../../core/nn/trainer.js';

export const CLIP_MODEL_MAGIC = 'SSCL';
export const CLIP_CHECKPOINT_MAGIC = 'SSCC';
/** 2: the fair recipe's fields in the run, early stopping's state and best weights. */
export const CLIP_CHECKPOINT_FORMAT_VERSION = 2;
/** A 65536-token vocabulary of 64-character words fits. */
const MAX_HEADER_BYTES = 1 << 23;
const CHECKPOINT: CheckpointFormat = { magic: CLIP_CHECKPOINT_MAGIC, version: CLIP_CHECKPOINT_FORMAT_VERSION, what: 'clip checkpoint', maxHeaderBytes: MAX_HEADER_BYTES };

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
  schedule: LearningRateSchedule;
  weightDecay: number;
  validationFraction: number;
  patience: number;
  shuffleWindow: number;
  /** The images' geometry; absent: 28x28 grey. */
  geometry?: ImageGeometry;
  /** A ResNet tower's depth and width. */
  resnet?: ResNetShape;
}

export interface ClipCheckpointState extends CheckpointFields<ClipRunFingerprint> {
  model: SerializedClip;
}

function modelHeader(model: SerializedClip) {
  const states = clipStateShapes(model.config);
  return {
    format: model.format,
    config: model.config,
    shapes: clipShapes(model.config),
    vocabulary: model.vocabulary.tokens,
    preprocessing: model.config.arch === 'resnet' ? 'pixel/255, then (x - 0.5) / 0.25 per channel' : 'pixel/255',
    tokenizer: 'lowercase letter/digit words, [PAD]=0, [UNK]=1',
    ...(states.length ? { stateShapes: states } : {}),
  };
}

/** Validates a model header; returns its config, vocabulary, shapes and state shapes. */
function readModelHeader(h: unknown, what: string): { config: ClipConfig; vocabulary: Vocabulary; shapes: number[][]; stateShapes: number[][] } {
  const header = h as Record<string, unknown> | null;
  if (!header || typeof header !== 'object') throw new CorruptModelError(`${what}: model header missing`);
  if (header.format !== CLIP_FORMAT_VERSION) {
    throw new CorruptModelError(`${what}: unsupported format version ${JSON.stringify(header.format)} (this code reads ${CLIP_FORMAT_VERSION})`);
  }
  checkClipConfig(header.config, `${what} config`);
  const c = header.config;
  const config: ClipConfig = {
    arch: c.arch,
    hidden: [...c.hidden],
    embedDim: c.embedDim,
    tokenWidth: c.tokenWidth,
    maxTokens: c.maxTokens,
    vocabSize: c.vocabSize,
    ...(c.geometry ? { geometry: { size: c.geometry.size, channels: c.geometry.channels } } : {}),
    ...(c.resnet ? { resnet: { depth: c.resnet.depth, width: c.resnet.width } } : {}),
  };
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
    throw new CorruptModelError(`${what}: header shapes ${JSON.stringify(header.shapes)?.slice(0, 200)} do not match the config (expected ${JSON.stringify(shapes).slice(0, 400)})`);
  }
  const stateShapes = clipStateShapes(config);
  if (JSON.stringify(header.stateShapes ?? []) !== JSON.stringify(stateShapes)) {
    throw new CorruptModelError(`${what}: header state shapes ${JSON.stringify(header.stateShapes)?.slice(0, 200)} do not match the config`);
  }
  return { config, vocabulary: { tokens: [...vocabulary.tokens] }, shapes, stateShapes };
}

/** Model -> bytes (magic 'SSCL': JSON header {format, config, shapes, vocabulary, ...}, float32 LE weights, then a ResNet tower's state). */
export function serializeClip(model: SerializedClip): Uint8Array {
  checkClip(model);
  return writeContainer(CLIP_MODEL_MAGIC, modelHeader(model), [...model.weights, ...(model.state ?? [])], MAX_HEADER_BYTES);
}

/** Bytes -> model; throws CorruptModelError naming the problem for anything malformed. */
export function deserializeClip(bytes: Uint8Array): SerializedClip {
  const what = 'clip model';
  const { header, view, payloadOffset } = readContainer(bytes, CLIP_MODEL_MAGIC, what, MAX_HEADER_BYTES);
  const { config, vocabulary, shapes, stateShapes } = readModelHeader(header, what);
  const sizes = [...shapes, ...stateShapes].map(sizeOf);
  const expected = payloadOffset + 4 * sizes.reduce((a, b) => a + b, 0);
  if (bytes.length !== expected) throw new CorruptModelError(`${what}: ${bytes.length} bytes, expected ${expected}`);
  const sections = readFloatSections(view, payloadOffset, sizes);
  const state = sections.slice(shapes.length);
  const model: SerializedClip = { format: CLIP_FORMAT_VERSION, config, vocabulary, weights: sections.slice(0, shapes.length), ...(state.length ? { state } : {}) };
  checkClip(model); // the logitScale range
  return model;
}

/** Checkpoint -> bytes (magic 'SSCC'): header {step, run, adam hyperparameters, model header}, then weights, m, v. */
export function encodeClipCheckpoint(state: ClipCheckpointState): Uint8Array {
  checkClip(state.model);
  return writeCheckpoint(CHECKPOINT, state, state.model.weights, modelHeader(state.model), state.model.state ?? []);
}

function readRun(r: unknown, what: string): ClipRunFingerprint {
  const run = r as Record<string, unknown> | null;
  const counts = ['count', 'embedDim', 'tokenWidth', 'maxTokens', 'epochs', 'minSteps', 'batchSize', 'patience', 'shuffleWindow'] as const;
  if (
    !run ||
    typeof run !== 'object' ||
    typeof run.seed !== 'string' ||
    typeof run.arch !== 'string' ||
    typeof run.vocabulary !== 'string' ||
    !Array.isArray(run.hidden) ||
    !run.hidden.every(isCount) ||
    typeof run.learningRate !== 'number' ||
    !isSchedule(run.schedule) ||
    typeof run.weightDecay !== 'number' ||
    typeof run.validationFraction !== 'number' ||
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
    schedule: run.schedule,
    weightDecay: run.weightDecay,
    validationFraction: run.validationFraction,
    patience: run.patience as number,
    shuffleWindow: run.shuffleWindow as number,
    ...readRunExtras(run, what),
  };
}

/** The fingerprint's optional geometry and resnet shape, validated. */
function readRunExtras(run: Record<string, unknown>, what: string): Pick<ClipRunFingerprint, 'geometry' | 'resnet'> {
  const geometry = run.geometry as ImageGeometry | undefined;
  const resnet = run.resnet as ResNetShape | undefined;
  try {
    if (geometry !== undefined) checkGeometry(geometry, `${what} run geometry`);
    if (resnet !== undefined) checkResNetShape(resnet, `${what} run`);
  } catch (err) {
    throw new CorruptModelError((err as Error).message);
  }
  return {
    ...(geometry ? { geometry: { size: geometry.size, channels: geometry.channels } } : {}),
    ...(resnet ? { resnet: { depth: resnet.depth, width: resnet.width } } : {}),
  };
}

/** Bytes -> checkpoint state; throws CorruptModelError for anything malformed. */
export function decodeClipCheckpoint(bytes: Uint8Array): ClipCheckpointState {
  const c = readCheckpoint(bytes, CHECKPOINT, readRunAndModel);
  const model: SerializedClip = { format: CLIP_FORMAT_VERSION, config: c.read.config, vocabulary: c.read.vocabulary, weights: c.weights, ...(c.state.length ? { state: c.state } : {}) };
  checkClip(model);
  return { step: c.step, totalSteps: c.totalSteps, lastLoss: c.lastLoss, run: c.read.run, model, adam: c.adam, early: c.early };
}

function readRunAndModel(header: Record<string, unknown>) {
  const what = CHECKPOINT.what;
  const run = readRun(header.run, what);
  const { config, vocabulary, shapes, stateShapes } = readModelHeader(header.model, what);
  const sameConfig =
    run.arch === config.arch &&
    JSON.stringify(run.hidden) === JSON.stringify(config.hidden) &&
    run.embedDim === config.embedDim &&
    run.tokenWidth === config.tokenWidth &&
    run.maxTokens === config.maxTokens &&
    JSON.stringify(run.geometry ?? null) === JSON.stringify(config.geometry ?? null) &&
    JSON.stringify(run.resnet ?? null) === JSON.stringify(config.resnet ?? null);
  if (!sameConfig) throw new CorruptModelError(`${what}: the model config differs from the run fingerprint`);
  return { run, config, vocabulary, sizes: shapes.map(sizeOf), stateSizes: stateShapes.map(sizeOf) };
}

/** The step and bytes of a stored checkpoint, as trainClip's `resume` takes them. */
export function clipCheckpointFromBytes(bytes: Uint8Array): Checkpoint {
  const state = decodeClipCheckpoint(bytes);
  return { step: state.step, totalSteps: state.totalSteps, bytes };
}
