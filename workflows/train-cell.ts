// One (source, task, N, seed) cell: train on the first N samples of the source, then evaluate on
// every eval set. Results stay in the store (under the cell's content key); a small summary returns.
import { ApplicationFailure, upsertSearchAttributes } from '@temporalio/workflow';
import { FAILURE_TYPES } from '../contracts/failures.js';
import type { CellWorkflowInput, CellWorkflowOutput } from '../contracts/sweep.js';
import { CELL_TASKS, type TrainedCell } from './cell-tasks.js';
import { STAGE } from './search-attributes.js';

export async function trainCellWorkflow(input: CellWorkflowInput): Promise<CellWorkflowOutput> {
  const task = CELL_TASKS[input.task ?? 'classifier'];
  if (input.task === 'clip' && !input.clipRecipe) {
    // Bad input, not a transient fault: a plain Error would retry the workflow task forever.
    throw ApplicationFailure.nonRetryable('a clip cell needs clipRecipe (the sweep spec\'s clip recipe)', FAILURE_TYPES.invalidInput);
  }
  const data = { manifestUri: input.manifestUri, size: input.size, ...(input.offset ? { offset: input.offset } : {}), seed: input.seed, ...(input.mix ? { mix: input.mix } : {}) };
  upsertSearchAttributes([{ key: STAGE, value: 'train' }]);
  const trained: TrainedCell = await task.train(input, data);
  upsertSearchAttributes([{ key: STAGE, value: 'evaluate' }]);
  let cached = trained.cached;
  let activityRetries = trained.attempt - 1;
  for (const evalSet of input.evalSets) {
    const result = await task.evaluate({
      modelUri: trained.modelUri,
      evalSet: evalSet.name,
      split: evalSet.split,
      ...(evalSet.dataset ? { dataset: evalSet.dataset } : {}),
      ...(evalSet.shift ? { shift: evalSet.shift } : {}),
    }, input);
    cached &&= result.cached;
    activityRetries += result.attempt - 1;
  }
  upsertSearchAttributes([{ key: STAGE, value: 'done' }]);
  return { cellPrefix: trained.cellPrefix, cached, stepsRun: trained.stepsRun, activityRetries };
}
