// The binary container of both model formats (classifier 'SSCM'/'SSCK', CLIP 'SSCL'/'SSCC'):
// 4-byte magic, uint32 LE header length, UTF-8 JSON header, zero padding to a multiple of 4, then
// float32 little-endian sections whose sizes the header determines exactly. Readers treat the bytes
// as untrusted: every size is bounded and checked before use.
import { ADAM } from './adam.js';

export class CorruptModelError extends Error {
  readonly code = 'E_CORRUPT_MODEL';
}

const pad4 = (n: number) => (n + 3) & ~3;

export function writeContainer(magic: string, header: unknown, sections: Float32Array[], maxHeaderBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  if (json.length > maxHeaderBytes) throw new Error(`${magic}: header of ${json.length} bytes exceeds ${maxHeaderBytes}`);
  const payloadOffset = pad4(8 + json.length);
  const floats = sections.reduce((n, s) => n + s.length, 0);
  const out = new Uint8Array(payloadOffset + 4 * floats);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = magic.charCodeAt(i);
  view.setUint32(4, json.length, true);
  out.set(json, 8);
  let offset = payloadOffset;
  for (const section of sections) {
    for (let i = 0; i < section.length; i++, offset += 4) view.setFloat32(offset, section[i]!, true);
  }
  return out;
}

export function readContainer(
  bytes: Uint8Array,
  magic: string,
  what: string,
  maxHeaderBytes: number,
): { header: Record<string, unknown>; view: DataView; payloadOffset: number } {
  if (!(bytes instanceof Uint8Array)) throw new CorruptModelError(`${what}: expected a Uint8Array, got ${typeof bytes}`);
  if (bytes.length < 8) throw new CorruptModelError(`${what}: only ${bytes.length} bytes, too short for a header`);
  const found = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  if (found !== magic) throw new CorruptModelError(`${what}: bad magic ${JSON.stringify(found)}, expected ${JSON.stringify(magic)}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  if (headerLength > maxHeaderBytes || 8 + headerLength > bytes.length) {
    throw new CorruptModelError(`${what}: header length ${headerLength} is invalid for ${bytes.length} bytes`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (err) {
    throw new CorruptModelError(`${what}: header is not valid JSON (${(err as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new CorruptModelError(`${what}: header is not a JSON object`);
  return { header: header as Record<string, unknown>, view, payloadOffset: pad4(8 + headerLength) };
}

export function readFloatSections(view: DataView, offset: number, sizes: number[]): Float32Array[] {
  return sizes.map((size) => {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++, offset += 4) out[i] = view.getFloat32(offset, true);
    return out;
  });
}

// --- training checkpoints ---------------------------------------------------------------------
//
// Both models' checkpoints (classifier 'SSCK', CLIP 'SSCC') are one layout: header {format, step,
// totalSteps, lastLoss, run, adam: {beta1, beta2, epsilon, iteration}, early: {bestEpoch, bestLoss,
// epochsSinceBest, stoppedEpoch}, model: <model header>}, then the weights, the model's
// non-trained state if it has any (batch norm statistics: Adam has no slots for it), Adam's m,
// Adam's v and (once an epoch was validated) the best epoch's weights and state, as float32
// sections. What differs is the model header and the run fingerprint, which each model writes and
// validates itself. A model without state writes exactly what it wrote before state existed.

/** One checkpoint format: its magic, version, name in error messages and header size bound. */
export interface CheckpointFormat {
  magic: string;
  version: number;
  what: string;
  maxHeaderBytes: number;
}

/** What every checkpoint holds besides its model. */
export interface CheckpointFields<Run> {
  step: number;
  totalSteps: number;
  /** Loss of the last completed step's batch (NaN before the first step). */
  lastLoss: number;
  /** The run configuration the checkpoint belongs to; a resume must match it. */
  run: Run;
  /** Adam slots, one per weight tensor, same order and sizes as the weights. */
  adam: { iteration: number; m: Float32Array[]; v: Float32Array[] };
  early: EarlyStoppingState;
}

/** Early stopping's state (trainer.ts): what a resumed run needs to continue it exactly. */
export interface EarlyStoppingState {
  /** Epochs completed when the validation loss was lowest; 0: none validated yet (or no validation set). */
  bestEpoch: number;
  /** That validation loss (NaN while bestEpoch is 0). */
  bestLoss: number;
  /** Validated epochs since the best one. */
  epochsSinceBest: number;
  /** The epoch early stopping ended training at; 0 while training goes on. */
  stoppedEpoch: number;
  /**
   * The best epoch's weights, followed by its non-trained state for a model that has one: null
   * exactly when bestEpoch is 0.
   */
  bestWeights: Float32Array[] | null;
}

/** Before the first validation. */
export const NO_EARLY_STOPPING: EarlyStoppingState = { bestEpoch: 0, bestLoss: Number.NaN, epochsSinceBest: 0, stoppedEpoch: 0, bestWeights: null };

/** `modelState`: the model's non-trained state (batch norm statistics), [] for none. */
export function writeCheckpoint<Run>(
  format: CheckpointFormat,
  state: CheckpointFields<Run>,
  weights: Float32Array[],
  modelHeader: unknown,
  modelState: Float32Array[] = [],
): Uint8Array {
  const { bestWeights, ...early } = state.early;
  if ((bestWeights === null) !== (early.bestEpoch === 0)) throw new Error(`${format.what}: best weights are kept exactly when a best epoch is`);
  const modelFloats = [...weights, ...modelState];
  const slotChecks = [['m', state.adam.m, weights], ['v', state.adam.v, weights], ['best weights', bestWeights ?? modelFloats, modelFloats]] as const;
  for (const [name, slots, like] of slotChecks) {
    if (slots.length !== like.length || slots.some((s, i) => !(s instanceof Float32Array) || s.length !== like[i]!.length)) {
      throw new Error(`${format.what}: ${name} do not match the model's weight sizes`);
    }
  }
  const header = {
    format: format.version,
    step: state.step,
    totalSteps: state.totalSteps,
    lastLoss: Number.isFinite(state.lastLoss) ? state.lastLoss : null,
    run: state.run,
    adam: { ...ADAM, iteration: state.adam.iteration },
    early: { ...early, bestLoss: Number.isFinite(early.bestLoss) ? early.bestLoss : null },
    model: modelHeader,
  };
  return writeContainer(format.magic, header, [...modelFloats, ...state.adam.m, ...state.adam.v, ...(bestWeights ?? [])], format.maxHeaderBytes);
}

export const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/**
 * Bytes -> checkpoint; throws CorruptModelError for anything malformed. `readModel` validates the
 * header's run and model parts (in that order) and returns what it read with the weight sizes
 * (and the state's, for a model with non-trained state).
 */
export function readCheckpoint<T>(
  bytes: Uint8Array,
  format: CheckpointFormat,
  readModel: (header: Record<string, unknown>) => T & { sizes: number[]; stateSizes?: number[] },
): Omit<CheckpointFields<never>, 'run'> & { read: T; weights: Float32Array[]; state: Float32Array[] } {
  const { what } = format;
  const { header, view, payloadOffset } = readContainer(bytes, format.magic, what, format.maxHeaderBytes);
  if (header.format !== format.version) {
    throw new CorruptModelError(`${what}: unsupported format version ${JSON.stringify(header.format)} (this code reads ${format.version})`);
  }
  const { step, totalSteps, lastLoss, adam } = header;
  if (!isCount(step) || !isCount(totalSteps)) throw new CorruptModelError(`${what}: step/totalSteps must be non-negative integers`);
  if (lastLoss !== null && typeof lastLoss !== 'number') throw new CorruptModelError(`${what}: lastLoss must be a number or null`);
  const a = adam as Record<string, unknown> | null;
  if (!a || typeof a !== 'object' || !isCount(a.iteration) || a.beta1 !== ADAM.beta1 || a.beta2 !== ADAM.beta2 || a.epsilon !== ADAM.epsilon) {
    throw new CorruptModelError(`${what}: adam state ${JSON.stringify(adam)?.slice(0, 200)} is missing fields or uses other hyperparameters`);
  }
  if (a.iteration !== step) throw new CorruptModelError(`${what}: adam iteration ${a.iteration} differs from step ${step}`);
  const early = readEarlyStopping(header.early, what);
  const read = readModel(header);
  const sizes = read.sizes;
  const stateSizes = read.stateSizes ?? [];
  const modelSizes = [...sizes, ...stateSizes];
  const layout = [...modelSizes, ...sizes, ...sizes, ...(early.bestEpoch > 0 ? modelSizes : [])];
  const expected = payloadOffset + 4 * layout.reduce((x, y) => x + y, 0);
  if (bytes.length !== expected) throw new CorruptModelError(`${what}: ${bytes.length} bytes, expected ${expected}`);
  const sections = readFloatSections(view, payloadOffset, layout);
  const k = sizes.length;
  const s = stateSizes.length;
  return {
    step,
    totalSteps,
    lastLoss: lastLoss === null ? Number.NaN : (lastLoss as number),
    read,
    weights: sections.slice(0, k),
    state: sections.slice(k, k + s),
    adam: { iteration: a.iteration, m: sections.slice(k + s, 2 * k + s), v: sections.slice(2 * k + s, 3 * k + s) },
    early: { ...early, bestWeights: early.bestEpoch > 0 ? sections.slice(3 * k + s) : null },
  };
}

function readEarlyStopping(e: unknown, what: string): Omit<EarlyStoppingState, 'bestWeights'> {
  const h = e as Record<string, unknown> | null;
  const valid =
    !!h &&
    typeof h === 'object' &&
    isCount(h.bestEpoch) &&
    isCount(h.epochsSinceBest) &&
    isCount(h.stoppedEpoch) &&
    (h.bestEpoch === 0 ? h.bestLoss === null : typeof h.bestLoss === 'number');
  if (!valid) throw new CorruptModelError(`${what}: early stopping state ${JSON.stringify(e)?.slice(0, 200)} is malformed`);
  const bestLoss = h.bestLoss === null ? Number.NaN : (h.bestLoss as number);
  return { bestEpoch: h.bestEpoch as number, bestLoss, epochsSinceBest: h.epochsSinceBest as number, stoppedEpoch: h.stoppedEpoch as number };
}
