// The classifier's training checkpoints (magic 'SSCK', container.ts's checkpoint layout): the run
// fingerprint, the model header of classifier-model.ts, weights (and the ResNet's batch norm
// statistics) and Adam's slots.
// The fingerprint's geometry, classes, resnet and augment fields are written only when they are
// not the defaults of every run before them (28x28 grey, 10 classes, no ResNet, no augmentation),
// so those runs' checkpoints keep their bytes and still resume.
import { checkGeometry, type ImageGeometry } from '../image/geometry.js';
import { checkAugmentation, type Augmentation } from './augment.js';
import { CorruptModelError, isCount, readCheckpoint, writeCheckpoint, type CheckpointFields, type CheckpointFormat } from './container.js';
import { checkClassifier, checkHeaderShapes, classifierFrom, MAX_HEADER_BYTES, modelHeader, validateArch, type SerializedClassifier } from './classifier-model.js';
import { sizeOf, type ResNetShape } from './models/definition.js';
import { checkResNetShape } from './models/resnet.js';
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
  /** The data's geometry; absent: 28x28 grey. */
  geometry?: ImageGeometry;
  /** Classes; absent: 10. */
  classes?: number;
  /** The ResNet's shape (arch 'resnet' only). */
  resnet?: ResNetShape;
  /** Training-time augmentation; absent: none. */
  augment?: Augmentation;
}

/** Decoded checkpoint content. */
export interface CheckpointState extends CheckpointFields<RunFingerprint> {
  model: SerializedClassifier;
}

/** Checkpoint -> bytes: header {step, run, adam hyperparameters, model header}, then weights, state, m, v. */
export function encodeCheckpoint(state: CheckpointState): Uint8Array {
  checkClassifier(state.model);
  return writeCheckpoint(FORMAT, state, state.model.weights, modelHeader(state.model), state.model.state ?? []);
}

/** Bytes -> checkpoint state; throws CorruptModelError for anything malformed. */
export function decodeCheckpoint(bytes: Uint8Array): CheckpointState {
  const c = readCheckpoint(bytes, FORMAT, readRunAndModel);
  const model = classifierFrom(c.read.model, c.weights, c.state);
  return { step: c.step, totalSteps: c.totalSteps, lastLoss: c.lastLoss, run: c.read.run, model, adam: c.adam, early: c.early };
}

/** The run's optional fields, validated and in the order trainClassifier writes them. */
function readRunExtras(r: Record<string, unknown>, what: string): Pick<RunFingerprint, 'geometry' | 'classes' | 'resnet' | 'augment'> {
  try {
    if (r.geometry !== undefined) checkGeometry(r.geometry as ImageGeometry, `${what} run geometry`);
    if (r.classes !== undefined && !(isCount(r.classes) && r.classes >= 2)) throw new Error(`${what}: run classes ${JSON.stringify(r.classes)} is malformed`);
    if (r.resnet !== undefined) checkResNetShape(r.resnet, `${what} run`);
    if (r.augment !== undefined) checkAugmentation(r.augment, `${what} run augment`);
  } catch (err) {
    throw new CorruptModelError((err as Error).message);
  }
  const geometry = r.geometry as ImageGeometry | undefined;
  const resnet = r.resnet as ResNetShape | undefined;
  const augment = r.augment as Augmentation | undefined;
  return {
    ...(geometry ? { geometry: { size: geometry.size, channels: geometry.channels } } : {}),
    ...(r.classes !== undefined ? { classes: r.classes as number } : {}),
    ...(resnet ? { resnet: { depth: resnet.depth, width: resnet.width } } : {}),
    ...(augment ? { augment: { crop: augment.crop, flip: augment.flip } } : {}),
  };
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
  const read = validateArch(mh, `${what} model`);
  const { spec } = read;
  if (JSON.stringify(spec.hidden) !== JSON.stringify(r.hidden)) throw new CorruptModelError(`${what}: model hidden differs from run hidden`);
  checkHeaderShapes(mh, read, what);
  const fingerprint: RunFingerprint = {
    seed: r.seed,
    count: r.count,
    hidden: [...spec.hidden],
    epochs: r.epochs,
    minSteps: r.minSteps,
    batchSize: r.batchSize,
    learningRate: r.learningRate,
    schedule: r.schedule,
    weightDecay: r.weightDecay,
    validationFraction: r.validationFraction,
    patience: r.patience,
    shuffleWindow: r.shuffleWindow,
    ...readRunExtras(r, what),
  };
  const sameInput =
    JSON.stringify(fingerprint.geometry ?? null) === JSON.stringify(mh.geometry ?? null) &&
    (fingerprint.classes ?? 10) === spec.classes &&
    JSON.stringify(fingerprint.resnet ?? null) === JSON.stringify(spec.resnet ?? null);
  if (!sameInput) throw new CorruptModelError(`${what}: the model's geometry, classes or resnet shape differ from the run fingerprint's`);
  return { model: read, run: fingerprint, sizes: read.shapes.map(sizeOf), stateSizes: read.stateShapes.map(sizeOf) };
}
