// A cell's stage inputs and outputs, and where its artifacts live: the training and evaluation
// activities write under these keys, and the analysis reads them back with the same functions.
import { inputHash } from '../core/hash.js';
import { keySegment } from '../core/keys.js';
import type { TrainingRecipe } from './spec/sweep.js';
import type { ClipRecipe } from './spec/clip.js';
import type { EvalSetSpec } from './types.js';
import type { RecognizabilityResult } from '../core/stats/recognizability.js';
import type { DiversityMetrics } from '../core/stats/diversity.js';

/**
 * Part of every cell's hash: bump when training code changes what a cell computes.
 * 2: Adam on the host for native CPU, closed-form cross-entropy, shard-windowed shuffle.
 */
export const TRAIN_CODE_VERSION = 'classifier-train-3';

/** Part of a cell's data: `count` samples of a manifest from `offset` on (a seed's window of a generated pool). */
export interface DataPart {
  manifestUri: string;
  count: number;
  /** First sample read (default 0). */
  offset?: number;
}

export interface TrainCellInput {
  manifestUri: string;
  size: number;
  /** The cell reads samples [offset, offset + size) of `manifestUri` (default 0): its seed's window. */
  offset?: number;
  seed: number;
  recipe: TrainingRecipe;
  /**
   * More data after the `size` samples of `manifestUri`: a mixed source's synthetic part
   * (`count` samples of each manifest from its offset, in this order).
   */
  mix?: DataPart[];
}

/** What of a cell's data enters its key: offsets only where non-zero, so keys of seedDraws 'init' sweeps stay as they were. */
function dataKeyParts(input: { size: number; offset?: number; mix?: DataPart[] }, mixShas: string[]) {
  return {
    size: input.size,
    ...(input.offset ? { offset: input.offset } : {}),
    ...(input.mix?.length ? { mix: input.mix.map((m, i) => ({ manifest: mixShas[i], count: m.count, ...(m.offset ? { offset: m.offset } : {}) })) } : {}),
  };
}

export interface TrainCellOutput {
  /** The cell's storage prefix (model, checkpoint, train record, eval results live under it). */
  cellPrefix: string;
  modelUri: string;
  /** Steps of the finished training (from its record on a cache hit). */
  steps: number;
  /** Steps this attempt actually ran (0 on a cache hit). */
  stepsRun: number;
  attempt: number;
  seconds: number;
  backend: string;
  resumedFromStep: number;
  cached: boolean;
}

/**
 * The cell's storage prefix: what determines the trained weights (not where/how fast it ran).
 * `mixShas` are the checksums of `input.mix`'s manifests, in order.
 */
export function cellKey(manifestSha: string, input: TrainCellInput, mixShas: string[] = []): string {
  const { checkpointEvery: _every, backend: _backend, ...recipe } = input.recipe;
  if (input.mix?.length && mixShas.length !== input.mix.length) throw new Error('cellKey: one checksum per mixed-in manifest is needed');
  const { size, ...data } = dataKeyParts(input, mixShas);
  return `cells/${inputHash('train', TRAIN_CODE_VERSION, { manifest: manifestSha, size, ...('offset' in data ? { offset: data.offset } : {}), seed: input.seed, recipe, ...('mix' in data ? { mix: data.mix } : {}) })}`;
}

export const CLIP_TRAIN_CODE_VERSION = 'clip-train-2';

/** clip-eval-2: clean eval sets also hold a linear probe of the frozen image trunk. */
export const CLIP_EVAL_CODE_VERSION = 'clip-eval-2';

export interface ClipCellInput {
  manifestUri: string;
  size: number;
  seed: number;
  recipe: ClipRecipe;
  /** Seed of the real images' caption model (the sweep's generation seed). */
  captionSeed: number;
  /** The cell reads samples [offset, offset + size) of `manifestUri` (default 0). */
  offset?: number;
  /** A mixed source's synthetic part, after the `size` samples of `manifestUri`. */
  mix?: DataPart[];
}

/** A CLIP cell's training returns what a classifier cell's does. */
export type ClipCellOutput = TrainCellOutput;

export interface ClipEvalInput {
  modelUri: string;
  evalSet: string;
  split: string;
  /** The sweep's dataset (the linear probe trains on its train split); absent: Fashion-MNIST at 28x28 grey. */
  trainDataset?: string;
  /** Class names in label order (zero-shot prompts); absent: Fashion-MNIST's. */
  classes?: string[];
  /** The eval set's own dataset (fingerprint); absent: the sweep's dataset. */
  dataset?: string;
  shift?: EvalSetSpec['shift'];
}

/** Stored per (model, eval set); the headline metrics are the 80-template ensemble's. */
export interface ClipEvalResult {
  loss: number;
  accuracy: number;
  ece: number;
  perClassAccuracy: number[];
  single: { loss: number; accuracy: number };
  ensemble: { loss: number; accuracy: number };
  logitScale: number;
  /** Clean eval sets only: a logistic regression on the frozen image features of a fixed real subset. */
  probe?: { loss: number; accuracy: number; trainImages: number; trainAccuracy: number; features: number };
}

export interface ClipEvalOutput extends ClipEvalResult {
  resultUri: string;
  cached: boolean;
  attempt: number;
}

/** The cell's storage prefix: what determines the trained weights. */
export function clipCellKey(manifestSha: string, input: ClipCellInput, mixShas: string[] = []): string {
  const { checkpointEvery: _every, backend: _backend, ...recipe } = input.recipe;
  const { size, ...data } = dataKeyParts(input, mixShas);
  return `cells/clip-${inputHash('clip-train', CLIP_TRAIN_CODE_VERSION, {
    manifest: manifestSha,
    size,
    ...('offset' in data ? { offset: data.offset } : {}),
    seed: input.seed,
    recipe,
    captionSeed: input.captionSeed,
    ...('mix' in data ? { mix: data.mix } : {}),
  })}`;
}

export function clipEvalKey(modelKey: string, modelSha: string, evalSet: string, split: string, shift?: EvalSetSpec['shift'], dataset?: string): string {
  const dir = modelKey.split('/').slice(0, -1).join('/');
  const shifted = shift ? { shift, ood: OOD_CODE_VERSION } : {};
  return `${dir}/clip-eval-${keySegment(evalSet, 'evalSet')}-${inputHash('clip-eval', CLIP_EVAL_CODE_VERSION, { model: modelSha, split, ...(dataset ? { dataset } : {}), ...shifted })}.json`;
}

/** Part of a shifted eval result's key: bump when a suite's images change. */
export const OOD_CODE_VERSION = 'ood-1';

export const EVALUATE_CODE_VERSION = 'evaluate-1';

/** Where a model's result on an eval split lives: beside the model, keyed by the model's checksum. */
export function evalKey(modelKey: string, modelSha: string, evalSet: string, split: string, shift?: EvalSetSpec['shift'], dataset?: string): string {
  const dir = modelKey.split('/').slice(0, -1).join('/');
  const shifted = shift ? { shift, ood: OOD_CODE_VERSION } : {};
  return `${dir}/eval-${keySegment(evalSet, 'evalSet')}-${inputHash('evaluate', EVALUATE_CODE_VERSION, { model: modelSha, split, ...(dataset ? { dataset } : {}), ...shifted })}.json`;
}

export interface EvaluateInput {
  modelUri: string;
  evalSet: string;
  split: string;
  /** The eval set's own dataset (fingerprint); absent: the sweep's dataset. */
  dataset?: string;
  /** Evaluate on the split under this OOD shift (absent: clean). */
  shift?: EvalSetSpec['shift'];
}

export interface EvaluateOutput {
  resultUri: string;
  loss: number;
  accuracy: number;
  ece: number;
  perClassAccuracy: number[];
  cached: boolean;
  attempt: number;
}

export interface RecognizabilityInput {
  /** The judge: a classifier trained on real images (a trainClassifier output). */
  judgeModelUri: string;
  /** Its top-1 accuracy on the clean real test split, reported beside the result. */
  judgeTestAccuracy: number | null;
  manifestUri: string;
  /** Generated images judged: the first `count` of the source. */
  count: number;
  /** The sweep's dataset (its test split is the diversity reference); absent: Fashion-MNIST at 28x28 grey. */
  datasetFingerprint?: string;
}

export interface RecognizabilityOutput {
  resultUri: string;
  overall: number;
  cached: boolean;
  attempt: number;
}

export interface RecognizabilityDocument extends RecognizabilityResult {
  manifestUri: string;
  judgeModelUri: string;
  /** The source's images against real test images in the judge's penultimate layer (absent before recognizability-2). */
  diversity?: DiversityMetrics;
}
