// The images an eval set evaluates on: a real split, clean or under an OOD shift (memoized per process).
import { loadDatasetSplit, type ActivityDeps } from '../activity-deps.js';
import { applySuiteToSet, type OodSuiteName } from '../image/ood.js';
import { memoizePromise } from '../memo.js';
import type { ImageSet } from './fashion-mnist.js';

/** Where an eval set's shift is described (the same shape as contracts EvalSetSpec['shift']). */
export interface EvalShift {
  suite: string;
  severity: number;
  seed: number;
}

/** Shifted test sets, memoized per process: every cell of a worker evaluates on the same images. */
const shiftedSets = new Map<string, Promise<ImageSet>>();

/** The real split an eval set evaluates on: clean, or under its OOD shift (classifier and CLIP cells alike). */
export async function loadEvalImages(deps: ActivityDeps, evalSet: { split: string; dataset?: string; shift?: EvalShift }): Promise<ImageSet> {
  const { split, dataset, shift } = evalSet;
  const clean = await loadDatasetSplit(deps, dataset, split);
  if (!shift) return clean;
  return memoizePromise(
    shiftedSets,
    `${dataset ?? ''}|${split}|${shift.suite}|${shift.severity}|${shift.seed}`,
    async () => applySuiteToSet({ suite: shift.suite as OodSuiteName, severity: shift.severity }, clean, shift.seed),
    4,
  );
}
