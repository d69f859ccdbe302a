// One (source, N, seed) cell: train on the first N samples of the source, then evaluate.
// Results stay in the store (under the cell's content key); only a small summary returns.
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { SweepSpec, TrainingRecipe } from '../contracts/spec/sweep.js';
import type { EvalSetSpec } from '../contracts/types.js';
import type { CellWorkflowInput, CellWorkflowOutput } from '../contracts/sweep.js';
import { train } from './proxies.js';
import { STAGE } from './search-attributes.js';



export async function trainCellWorkflow(input: CellWorkflowInput): Promise<CellWorkflowOutput> {
  const data = { manifestUri: input.manifestUri, size: input.size, seed: input.seed, ...(input.mix ? { mix: input.mix } : {}) };
  if (input.task === 'clip') {
    if (!input.clipRecipe) throw new Error('a clip cell needs clipRecipe');
    const recipe = input.clipRecipe;
    return trainThenEvaluate(input.evalSets, () => train.trainClipCell({ ...data, recipe, captionSeed: input.captionSeed ?? 0 }), train.evaluateClip);
  }
  return trainThenEvaluate(input.evalSets, () => train.trainClassifier({ ...data, recipe: input.recipe }), train.evaluateClassifier);
}

/** Train (or find) the cell's model, then evaluate it on every eval set; the same for both tasks. */
async function trainThenEvaluate(
  evalSets: EvalSetSpec[],
  trainModel: () => Promise<{ cellPrefix: string; modelUri: string; cached: boolean; attempt: number; stepsRun: number }>,
  evaluate: (input: { modelUri: string; evalSet: string; split: 'test'; shift?: EvalSetSpec['shift'] }) => Promise<{ cached: boolean; attempt: number }>,
): Promise<CellWorkflowOutput> {
  upsertSearchAttributes([{ key: STAGE, value: 'train' }]);
  const trained = await trainModel();
  upsertSearchAttributes([{ key: STAGE, value: 'evaluate' }]);
  let cached = trained.cached;
  let activityRetries = trained.attempt - 1;
  for (const evalSet of evalSets) {
    const result = await evaluate({
      modelUri: trained.modelUri,
      evalSet: evalSet.name,
      split: evalSet.split,
      ...(evalSet.shift ? { shift: evalSet.shift } : {}),
    });
    cached &&= result.cached;
    activityRetries += result.attempt - 1;
  }
  upsertSearchAttributes([{ key: STAGE, value: 'done' }]);
  return { cellPrefix: trained.cellPrefix, cached, stepsRun: trained.stepsRun, activityRetries };
}
