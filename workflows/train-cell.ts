// One (source, N, seed) cell: train on the first N samples of the source, then evaluate.
// Results stay in the store (under the cell's content key); only a small summary returns.
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { TrainingRecipe } from '../core/spec.js';
import { train } from './proxies.js';
import { STAGE } from './search-attributes.js';

export interface TrainCellInput {
  sweepId: string;
  source: string;
  manifestUri: string;
  size: number;
  seed: number;
  recipe: TrainingRecipe;
  evalSets: { name: string; split: 'test' }[];
}

export interface TrainCellOutput {
  cellPrefix: string;
  /** True when training and every evaluation came from the store. */
  cached: boolean;
  stepsRun: number;
  activityRetries: number;
}

export async function trainCellWorkflow(input: TrainCellInput): Promise<TrainCellOutput> {
  upsertSearchAttributes([{ key: STAGE, value: 'train' }]);
  const trained = await train.trainClassifier({
    manifestUri: input.manifestUri,
    size: input.size,
    seed: input.seed,
    recipe: input.recipe,
  });
  upsertSearchAttributes([{ key: STAGE, value: 'evaluate' }]);
  let cached = trained.cached;
  let activityRetries = trained.attempt - 1;
  for (const evalSet of input.evalSets) {
    const result = await train.evaluateClassifier({ modelUri: trained.modelUri, evalSet: evalSet.name, split: evalSet.split });
    cached &&= result.cached;
    activityRetries += result.attempt - 1;
  }
  upsertSearchAttributes([{ key: STAGE, value: 'done' }]);
  return { cellPrefix: trained.cellPrefix, cached, stepsRun: trained.stepsRun, activityRetries };
}
