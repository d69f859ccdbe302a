// One (source, N, seed) cell: train on the first N samples of the source, then evaluate.
// Results stay in the store (under the cell's content key); only a small summary returns.
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { SweepSpec, TrainingRecipe } from '../core/spec.js';
import type { EvalSetSpec } from '../core/types.js';
import { train } from './proxies.js';
import { STAGE } from './search-attributes.js';

export interface TrainCellInput {
  sweepId: string;
  source: string;
  manifestUri: string;
  size: number;
  seed: number;
  recipe: TrainingRecipe;
  evalSets: EvalSetSpec[];
  /** A mixed source's synthetic part, trained on after the `size` real samples. */
  mix?: { manifestUri: string; count: number }[];
  /** 'clip': train CLIP on image-caption pairs and evaluate zero-shot (default 'classifier'). */
  task?: 'classifier' | 'clip';
  clipRecipe?: SweepSpec['clip'];
  /** Seed of the real images' captions (the sweep's generation seed). */
  captionSeed?: number;
}

export interface TrainCellOutput {
  cellPrefix: string;
  /** True when training and every evaluation came from the store. */
  cached: boolean;
  stepsRun: number;
  activityRetries: number;
}

export async function trainCellWorkflow(input: TrainCellInput): Promise<TrainCellOutput> {
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
): Promise<TrainCellOutput> {
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
