// One (source, N, seed) cell: train on the first N samples of the source, then evaluate.
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { TrainingRecipe } from '../core/spec.js';
import type { CellMetrics } from '../core/types.js';
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
  metrics: CellMetrics[];
  cached: boolean;
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
  const metrics: CellMetrics[] = [];
  let cached = trained.cached;
  for (const evalSet of input.evalSets) {
    const result = await train.evaluateClassifier({ modelUri: trained.modelUri, evalSet: evalSet.name, split: evalSet.split });
    cached &&= result.cached;
    metrics.push({
      source: input.source,
      size: input.size,
      seed: input.seed,
      evalSet: evalSet.name,
      loss: result.loss,
      accuracy: result.accuracy,
      ece: result.ece,
      perClassAccuracy: result.perClassAccuracy,
      trainSteps: trained.steps,
      trainSeconds: trained.seconds,
      resultUri: result.resultUri,
    });
  }
  upsertSearchAttributes([{ key: STAGE, value: 'done' }]);
  return { metrics, cached };
}
