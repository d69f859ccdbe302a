// The classifier's training checkpoints (magic 'SSCK', container.ts's checkpoint layout): the run
// fingerprint, the model header of classifier-model.ts, weights and Adam's slots.
import { CorruptModelError, isCount, readCheckpoint, writeCheckpoint, type CheckpointFields, type CheckpointFormat } from './container.js';
import { checkClassifier, classifierWith, MAX_HEADER_BYTES, modelHeader, validateArch, type SerializedClassifier } from './classifier-model.js';
import { sizeOf } from './models/definition.js';
import type { ModelArch } from './models/registry.js';
import { isSchedule, type LearningRateSchedule } from './schedule.js';

/** 2: the run fingerprint holds shuffleWindow. 3: the fair recipe's fields, early stopping's state and best weights. */
export const CHECKPOINT_FORMAT_VERSION = 3;
const FORMAT: CheckpointFormat = { magic: 'SSCK', version: CHECKPOINT_FORMAT_VERSION, what: 'checkpoint', maxHeaderBytes: MAX_HEADER_BYTES };

export interface RunFingerprint {
  seed: string;
  count: number;
  hidden: number[];
  epochs: number;
  minSteps: number;
  batchSize: number;
  learningRate: number;
  schedule: LearningRateSchedule;
  weightDecay: number;
  validationFraction: number;
  patience: number;
  shuffleWindow: number;
}

/** Decoded checkpoint content. */
export interface CheckpointState extends CheckpointFields<RunFingerprint> {
  model: SerializedClassifier;
}

/** Checkpoint -> bytes: header {step, run, adam hyperparameters, model header}, then weights, m, v. */
export function encodeCheckpoint(state: CheckpointState): Uint8Array {
  checkClassifier(state.model);
  return writeCheckpoint(FORMAT, state, state.model.weights, modelHeader(state.model));
}

/** Bytes -> checkpoint state; throws CorruptModelError for anything malformed. */
export function decodeCheckpoint(bytes: Uint8Array): CheckpointState {
  const c = readCheckpoint(bytes, FORMAT, readRunAndModel);
  const model = classifierWith(c.read.arch, c.read.run.hidden, c.weights);
  return { step: c.step, totalSteps: c.totalSteps, lastLoss: c.lastLoss, run: c.read.run, model, adam: c.adam, early: c.early };
}

function readRunAndModel(header: Record<string, unknown>) {
  const what = FORMAT.what;
  const { run, model } = header;
  const r = run as Record<string, unknown> | null;
  if (
    !r ||
    typeof r !== 'object' ||
    typeof r.seed !== 'string' ||
    !isCount(r.count) ||
    !Array.isArray(r.hidden) ||
    !isCount(r.epochs) ||
    !isCount(r.minSteps) ||
    !isCount(r.batchSize) ||
    typeof r.learningRate !== 'number' ||
    !isSchedule(r.schedule) ||
    typeof r.weightDecay !== 'number' ||
    typeof r.validationFraction !== 'number' ||
    !isCount(r.patience) ||
    !isCount(r.shuffleWindow)
  ) {
    throw new CorruptModelError(`${what}: run fingerprint is malformed`);
  }
  if (!model || typeof model !== 'object') throw new CorruptModelError(`${what}: model header missing`);
  const mh = model as Record<string, unknown>;
  const shapes = validateArch(mh, `${what} model`);
  const arch = mh.arch as ModelArch;
  const hidden = mh.hidden as number[];
  if (JSON.stringify(hidden) !== JSON.stringify(r.hidden)) throw new CorruptModelError(`${what}: model hidden differs from run hidden`);
  if (JSON.stringify(mh.shapes) !== JSON.stringify(shapes)) {
    throw new CorruptModelError(`${what}: model shapes do not match arch '${arch}' with hidden ${JSON.stringify(hidden)}`);
  }
  const fingerprint: RunFingerprint = {
    seed: r.seed,
    count: r.count,
    hidden: [...hidden],
    epochs: r.epochs,
    minSteps: r.minSteps,
    batchSize: r.batchSize,
    learningRate: r.learningRate,
    schedule: r.schedule,
    weightDecay: r.weightDecay,
    validationFraction: r.validationFraction,
    patience: r.patience,
    shuffleWindow: r.shuffleWindow,
  };
  return { arch, run: fingerprint, sizes: shapes.map(sizeOf) };
}
