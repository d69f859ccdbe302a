// The fair recipe's validation split and early stopping (trainer.ts): a seeded subset of a cell's
// own examples is held out (a synthetic source validates on its own images, as a lab without real
// data would), its loss is measured after every epoch, and training stops `patience` epochs after
// the lowest one, keeping that epoch's weights.
import { createRng, permutation } from '../rng.js';
import type { EarlyStoppingState } from './container.js';

/** Held-out examples for `count` examples: round(count x fraction), at least 1 when fraction > 0, always leaving one to train on. */
export function validationCount(count: number, fraction: number): number {
  if (!(fraction > 0) || count < 2) return 0;
  return Math.min(count - 1, Math.max(1, Math.round(count * fraction)));
}

export interface HoldOut {
  /** The examples training visits, ascending (a shard's examples stay together for the windowed shuffle). */
  train: Uint32Array;
  /** The held-out examples, ascending. */
  validation: Uint32Array;
  /** Training examples per data segment, empty segments left out (undefined without segments). */
  segments?: number[];
}

/** The validation split of `count` examples: the first validationCount of permutation(count, createRng(`${seed}|validation`)). */
export function holdOut(count: number, fraction: number, seed: number | string, segments?: readonly number[]): HoldOut {
  const held = validationCount(count, fraction);
  const validation = permutation(count, createRng(`${seed}|validation`)).slice(0, held).sort();
  const isHeld = new Uint8Array(count);
  for (const i of validation) isHeld[i] = 1;
  const train = new Uint32Array(count - held);
  for (let i = 0, k = 0; i < count; i++) if (!isHeld[i]) train[k++] = i;
  if (!segments) return { train, validation };
  const kept: number[] = [];
  let start = 0;
  for (const size of segments) {
    let inSegment = 0;
    for (let i = start; i < start + size && i < count; i++) inSegment += 1 - isHeld[i]!;
    if (inSegment > 0) kept.push(inSegment);
    start += size;
  }
  return { train, validation, segments: kept };
}

/**
 * Early stopping after epoch `epoch` (counted from 1) measured `loss`: a lower loss than the best
 * so far (any finite one for the first) becomes the best, with `weights()`; `patience` epochs
 * without one stop training (patience 0: never).
 */
export function afterEpoch(state: EarlyStoppingState, epoch: number, loss: number, patience: number, weights: () => Float32Array[]): EarlyStoppingState {
  const improved = state.bestEpoch === 0 ? Number.isFinite(loss) : loss < state.bestLoss;
  const next: EarlyStoppingState = improved
    ? { bestEpoch: epoch, bestLoss: loss, epochsSinceBest: 0, stoppedEpoch: 0, bestWeights: weights() }
    : { ...state, epochsSinceBest: state.epochsSinceBest + 1 };
  if (patience > 0 && next.epochsSinceBest >= patience) next.stoppedEpoch = epoch;
  return next;
}
