// What a training cell (classifier or CLIP) records beside its model: items.json, which samples
// of which manifests it trained on and which of them it held out for validation (so the items each
// cell and each seed used can be traced), and the fair recipe's summary in its train record.
import type { TrainingOutcome } from './trainer.js';

export const CELL_ITEMS_FILE = 'items.json';

/** Samples [offset, offset + count) of one manifest. */
export interface CellItemsPart {
  manifestUri: string;
  offset: number;
  count: number;
}

export interface CellItems {
  /** The cell's examples in order: each part's samples follow the previous part's. */
  parts: CellItemsPart[];
  /** Examples in all. */
  count: number;
  /** The held-out examples: indices into the parts' concatenation, ascending; the rest trained. */
  validation: number[];
}

/** A cell's data as its stage input gives it (contracts' TrainCellInput / ClipCellInput): the main window, then any mixed-in ones. */
export interface CellData {
  manifestUri: string;
  size: number;
  offset?: number;
  mix?: { manifestUri: string; count: number; offset?: number }[];
}

/** The windows of manifests a cell reads, in order. */
export function cellParts(input: CellData): CellItemsPart[] {
  return [
    { manifestUri: input.manifestUri, offset: input.offset ?? 0, count: input.size },
    ...(input.mix ?? []).map((m) => ({ manifestUri: m.manifestUri, offset: m.offset ?? 0, count: m.count })),
  ];
}

export function cellItems(input: CellData, validationIndices: Uint32Array): CellItems {
  const parts = cellParts(input);
  return { parts, count: parts.reduce((n, p) => n + p.count, 0), validation: Array.from(validationIndices) };
}

/** The fair recipe's part of a train record (train.json). */
export interface TrainingSummary {
  /** Epochs x steps per epoch on the training examples, at least minSteps. */
  plannedSteps: number;
  trainCount: number;
  validationCount: number;
  /** The epoch (from 1) training ended at, and whether early stopping ended it there. */
  stoppedEpoch: number;
  stoppedEarly: boolean;
  /** The epoch whose weights the model holds (0 without validation: the last step's), and its validation loss. */
  bestEpoch: number;
  bestValidationLoss: number | null;
}

export function trainingSummary(outcome: TrainingOutcome): TrainingSummary {
  return {
    plannedSteps: outcome.plannedSteps,
    trainCount: outcome.trainCount,
    validationCount: outcome.validationIndices.length,
    stoppedEpoch: outcome.stoppedEpoch,
    stoppedEarly: outcome.stoppedEarly,
    bestEpoch: outcome.bestEpoch,
    bestValidationLoss: outcome.bestValidationLoss,
  };
}
