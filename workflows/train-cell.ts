// One (source, task, N, seed) cell: train on the first N samples of the source, then evaluate on
// every eval set. Results stay in the store (under the cell's content key); a small summary with
// the headline metrics per eval set returns.
import { ApplicationFailure, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { FAILURE_TYPES } from '../contracts/failures.js';
import type { CellEvalMetrics, CellWorkflowInput, CellWorkflowOutput } from '../contracts/sweep.js';
import { CELL_TASKS, type TrainedCell } from './cell-tasks.js';
import { cellSummary, summary } from './labels.js';
import { STAGE } from './search-attributes.js';

export async function trainCellWorkflow(input: CellWorkflowInput): Promise<CellWorkflowOutput> {
  const taskName = input.task ?? 'classifier';
  const task = CELL_TASKS[taskName];
  if (input.task === 'clip' && !input.clipRecipe) {
    // Bad input, not a transient fault: a plain Error would retry the workflow task forever.
    throw ApplicationFailure.nonRetryable('a clip cell needs clipRecipe (the sweep spec\'s clip recipe)', FAILURE_TYPES.invalidInput);
  }
  const label = cellSummary({ source: input.source, task: taskName, size: input.size, seed: input.seed });
  const data = { manifestUri: input.manifestUri, size: input.size, ...(input.offset ? { offset: input.offset } : {}), seed: input.seed, ...(input.mix ? { mix: input.mix } : {}) };
  upsertSearchAttributes([{ key: STAGE, value: 'train' }]);
  setCurrentDetails(`**training** ${label}`);
  const trained: TrainedCell = await task.train(input, data, summary(`train · ${label}`));
  upsertSearchAttributes([{ key: STAGE, value: 'evaluate' }]);
  let cached = trained.cached;
  let activityRetries = trained.attempt - 1;
  const metrics: CellEvalMetrics[] = [];
  for (const evalSet of input.evalSets) {
    setCurrentDetails(`**evaluating** ${label} on ${evalSet.name} (${metrics.length + 1} of ${input.evalSets.length})`);
    const result = await task.evaluate(
      {
        modelUri: trained.modelUri,
        evalSet: evalSet.name,
        split: evalSet.split,
        ...(evalSet.dataset ? { dataset: evalSet.dataset } : {}),
        ...(evalSet.shift ? { shift: evalSet.shift } : {}),
      },
      input,
      summary(`evaluate · ${label} · on ${evalSet.name}`),
    );
    cached &&= result.cached;
    activityRetries += result.attempt - 1;
    metrics.push(result.metrics);
  }
  upsertSearchAttributes([{ key: STAGE, value: 'done' }]);
  setCurrentDetails(`**done** ${label}: ${metrics.map((m) => `${m.evalSet} accuracy ${m.accuracy.toFixed(3)}, loss ${m.loss.toFixed(3)}`).join('; ')}`);
  return { cellPrefix: trained.cellPrefix, cached, stepsRun: trained.stepsRun, activityRetries, metrics };
}
