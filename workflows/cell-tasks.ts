// Per task: what its cells add to the cell workflow's input, and which activities train and
// evaluate them. The one place to add a task on the workflow side (contracts/tasks.ts has the rest).
import type { SweepPlan } from '../contracts/plan.js';
import type { CellWorkflowInput } from '../contracts/sweep.js';
import type { TaskName } from '../contracts/tasks.js';
import type { EvalSetSpec } from '../contracts/types.js';
import { train } from './proxies.js';

/** What a cell's training returns, whatever its task. */
export interface TrainedCell {
  cellPrefix: string;
  modelUri: string;
  cached: boolean;
  attempt: number;
  stepsRun: number;
}

export interface EvaluateArgs {
  modelUri: string;
  evalSet: string;
  split: string;
  dataset?: string;
  shift?: EvalSetSpec['shift'];
}

export type EvaluateCell = (args: EvaluateArgs, cell: CellWorkflowInput) => Promise<{ cached: boolean; attempt: number }>;

export interface CellTask {
  /** Fields the task's cells add to their workflow input. */
  cellInput(plan: SweepPlan): Partial<CellWorkflowInput>;
  train(input: CellWorkflowInput, data: { manifestUri: string; size: number; offset?: number; seed: number; mix?: CellWorkflowInput['mix'] }): Promise<TrainedCell>;
  evaluate: EvaluateCell;
}

export const CELL_TASKS: { readonly [T in TaskName]: CellTask } = {
  // Classifier cells carry no task field: their input is as it was before CLIP existed.
  classifier: {
    cellInput: () => ({}),
    train: (input, data) => train.trainClassifier({ ...data, recipe: input.recipe }),
    evaluate: (args) => train.evaluateClassifier(args),
  },
  clip: {
    cellInput: (plan) => {
      const { spec, datasetRef } = plan;
      return { task: 'clip', clipRecipe: spec.clip, captionSeed: spec.generation.seed, ...(datasetRef ? { dataset: { fingerprint: datasetRef, classes: plan.classes } } : {}) };
    },
    train: (input, data) => train.trainClipCell({ ...data, recipe: input.clipRecipe!, captionSeed: input.captionSeed ?? 0 }),
    evaluate: (args, cell) => train.evaluateClip({ ...args, ...(cell.dataset ? { trainDataset: cell.dataset.fingerprint, classes: cell.dataset.classes } : {}) }),
  },
};
