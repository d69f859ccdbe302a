// The denoiser's training checkpoints (magic 'SSDK', core/nn/container.ts's checkpoint layout):
// the run fingerprint, the step, the weights and Adam's slots. Everything else a resumed run needs
// is a function of the step (the batch, its noise, timesteps and dropout, the learning rate), so a
// run resumed from one ends with the weights of an uninterrupted run.
import { CorruptModelError, isCount, NO_EARLY_STOPPING, readCheckpoint, writeCheckpoint, type CheckpointFormat } from '../../../core/nn/container.js';
import { canonicalJson } from '../../../core/hash.js';
import { layerShapes, weightSizes } from './model.js';

/** 1: the first layout. */
export const DENOISER_CHECKPOINT_VERSION = 1;
const FORMAT: CheckpointFormat = { magic: 'SSDK', version: DENOISER_CHECKPOINT_VERSION, what: 'denoiser checkpoint', maxHeaderBytes: 64 * 1024 };
const MAX_LAYERS = 16;
const MAX_WIDTH = 8192;

/** What a checkpoint belongs to: a resume from a checkpoint of another run is refused. */
export interface DenoiserRun {
  seed: number;
  /** Training examples and their content (sha256 of the PCA coordinates, labels and attributes). */
  count: number;
  dataHash: string;
  classes: number;
  pcaDims: number;
  timeEmbedDims: number;
  hidden: number[];
  trainSteps: number;
  batchSize: number;
  learningRate: number;
  condDropout: number;
}

export interface DenoiserCheckpoint {
  run: DenoiserRun;
  /** Optimizer steps completed. */
  step: number;
  /** Loss of the last completed step's batch (NaN before the first). */
  lastLoss: number;
  weights: Float32Array[];
  m: Float32Array[];
  v: Float32Array[];
}

export function encodeDenoiserCheckpoint(c: DenoiserCheckpoint): Uint8Array {
  const sizes = runWeightSizes(c.run);
  if (c.weights.length !== sizes.length || c.weights.some((w, i) => w.length !== sizes[i])) throw new Error('denoiser checkpoint: weights do not match the run');
  return writeCheckpoint(
    FORMAT,
    { step: c.step, totalSteps: c.run.trainSteps, lastLoss: c.lastLoss, run: c.run, adam: { iteration: c.step, m: c.m, v: c.v }, early: NO_EARLY_STOPPING },
    c.weights,
    { layers: sizes.length / 2 },
  );
}

/** Bytes -> checkpoint; throws CorruptModelError for anything malformed. */
export function decodeDenoiserCheckpoint(bytes: Uint8Array): DenoiserCheckpoint {
  const c = readCheckpoint(bytes, FORMAT, (header) => {
    const run = readRun(header.run);
    const sizes = runWeightSizes(run);
    const model = header.model as { layers?: unknown } | null;
    if (!model || model.layers !== sizes.length / 2) throw new CorruptModelError(`${FORMAT.what}: model header does not match the run`);
    return { run, sizes };
  });
  if (c.totalSteps !== c.read.run.trainSteps || c.step > c.totalSteps) throw new CorruptModelError(`${FORMAT.what}: step ${c.step} of ${c.totalSteps} does not fit the run`);
  if (c.early.bestEpoch !== 0) throw new CorruptModelError(`${FORMAT.what}: unexpected early-stopping state`);
  return { run: c.read.run, step: c.step, lastLoss: c.lastLoss, weights: c.weights, m: c.adam.m, v: c.adam.v };
}

/** Whether two runs are the same configuration on the same data. */
export function sameRun(a: DenoiserRun, b: DenoiserRun): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function runWeightSizes(run: DenoiserRun): number[] {
  return weightSizes(layerShapes(run.pcaDims, run.timeEmbedDims, run.classes, run.hidden));
}

function readRun(raw: unknown): DenoiserRun {
  const fail = (what: string): never => {
    throw new CorruptModelError(`${FORMAT.what}: run ${what}`);
  };
  const r = raw as Record<string, unknown> | null;
  if (!r || typeof r !== 'object' || Array.isArray(r)) fail('is not an object');
  const run = r as Partial<Record<keyof DenoiserRun, unknown>>;
  const positive = (x: unknown, max: number) => isCount(x) && x >= 1 && x <= max;
  if (!Number.isSafeInteger(run.seed)) fail('seed is not an integer');
  if (!positive(run.count, 1 << 30) || !positive(run.classes, 65535) || !positive(run.pcaDims, 1 << 20)) fail('sizes are malformed');
  if (typeof run.dataHash !== 'string' || !/^[0-9a-f]{64}$/.test(run.dataHash)) fail('dataHash is malformed');
  if (!positive(run.timeEmbedDims, 4096) || (run.timeEmbedDims as number) % 2 !== 0) fail('timeEmbedDims is malformed');
  if (!Array.isArray(run.hidden) || run.hidden.length < 1 || run.hidden.length > MAX_LAYERS || !run.hidden.every((h) => positive(h, MAX_WIDTH))) fail('hidden is malformed');
  if (!positive(run.trainSteps, 1 << 30) || !positive(run.batchSize, 1 << 20)) fail('trainSteps/batchSize are malformed');
  if (typeof run.learningRate !== 'number' || !(run.learningRate > 0)) fail('learningRate is malformed');
  if (typeof run.condDropout !== 'number' || !(run.condDropout >= 0 && run.condDropout <= 1)) fail('condDropout is malformed');
  return {
    seed: run.seed as number,
    count: run.count as number,
    dataHash: run.dataHash as string,
    classes: run.classes as number,
    pcaDims: run.pcaDims as number,
    timeEmbedDims: run.timeEmbedDims as number,
    hidden: [...(run.hidden as number[])],
    trainSteps: run.trainSteps as number,
    batchSize: run.batchSize as number,
    learningRate: run.learningRate as number,
    condDropout: run.condDropout as number,
  };
}
