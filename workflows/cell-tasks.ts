// Per task: what its cells add to the cell workflow's input, and which activities train and
// evaluate them. The one place to add a task on the workflow side (contracts/tasks.ts has the rest).
import type { ActivityOptions } from '@temporalio/workflow';
import type { SweepPlan } from '../contracts/plan.js';
import type { CellEvalMetrics, CellWorkflowInput } from '../contracts/sweep.js';
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

/** One evaluation as the cell reports it: its headline metrics (small; per-class results stay in the store). */
export interface EvaluatedCell {
  cached: boolean;
  attempt: number;
  metrics: CellEvalMetrics;
}

export type EvaluateCell = (args: EvaluateArgs, cell: CellWorkflowInput, options: ActivityOptions) => Promise<EvaluatedCell>;

export interface CellTask {
  /** Fields the task's cells add to their workflow input. */
  cellInput(plan: SweepPlan): Partial<CellWorkflowInput>;
  train(
    input: CellWorkflowInput,
    data: { manifestUri: string; size: number; offset?: number; seed: number; mix?: CellWorkflowInput['mix'] },
    options: ActivityOptions,
  ): Promise<TrainedCell>;
  evaluate: EvaluateCell;
}

export const CELL_TASKS: { readonly [T in TaskName]: CellTask } = {
  // Classifier cells carry no task field: their input is as it was before CLIP existed.
  classifier: {
    cellInput: () => ({}),
    train: (input, data, options) => train.trainClassifier.executeWithOptions(options, [{ ...data, recipe: input.recipe }]),
    evaluate: async (args, _cell, options) => {
      const out = await train.evaluateClassifier.executeWithOptions(options, [args]);
      return { cached: out.cached, attempt: out.attempt, metrics: { evalSet: args.evalSet, accuracy: out.accuracy, loss: out.loss, ece: out.ece } };
    },
  },
  clip: {
    cellInput: (plan) => {
      const { spec, datasetRef } = plan;
      return { task: 'clip', clipRecipe: spec.clip, captionSeed: spec.generation.seed, ...(datasetRef ? { dataset: { fingerprint: datasetRef, classes: plan.classes } } : {}) };
    },
    train: (input, data, options) => train.trainClipCell.executeWithOptions(options, [{ ...data, recipe: input.clipRecipe!, captionSeed: input.captionSeed ?? 0 }]),
    evaluate: async (args, cell, options) => {
      const out = await train.evaluateClip.executeWithOptions(options, [
        { ...args, ...(cell.dataset ? { trainDataset: cell.dataset.fingerprint, classes: cell.dataset.classes } : {}) },
      ]);
      const clip = { singleAccuracy: out.single.accuracy, logitScale: out.logitScale, ...(out.probe ? { probeAccuracy: out.probe.accuracy } : {}) };
      return { cached: out.cached, attempt: out.attempt, metrics: { evalSet: args.evalSet, accuracy: out.accuracy, loss: out.loss, ece: out.ece, clip } };
    },
  },
};
