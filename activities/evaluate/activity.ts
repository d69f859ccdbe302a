// Evaluation stage: a trained cell on a real eval split; results stored beside the model.
import { activityInfo } from '@temporalio/activity';
import { inputHash } from '../../core/hash.js';
import { getJson, hasValidObject, putJson } from '../../core/storage.js';
import { loadDatasetSplit, type ActivityDeps } from '../context.js';
import { deserializeClassifier } from '../train/classifier.js';
import { evaluateClassifier, type EvalMetrics } from './metrics.js';

export const EVALUATE_CODE_VERSION = 'evaluate-1';

/** Where a model's result on an eval split lives: beside the model, keyed by the model's checksum. */
export function evalKey(modelKey: string, modelSha: string, evalSet: string, split: string): string {
  const dir = modelKey.split('/').slice(0, -1).join('/');
  return `${dir}/eval-${evalSet}-${inputHash('evaluate', EVALUATE_CODE_VERSION, { model: modelSha, split })}.json`;
}

export interface EvaluateInput {
  modelUri: string;
  evalSet: string;
  split: 'test';
}

export interface EvaluateOutput {
  resultUri: string;
  loss: number;
  accuracy: number;
  ece: number;
  perClassAccuracy: number[];
  cached: boolean;
  attempt: number;
}

export function createEvaluateActivities(deps: ActivityDeps) {
  return {
    async evaluateClassifier(input: EvaluateInput): Promise<EvaluateOutput> {
      const modelKey = deps.store.keyOf(input.modelUri);
      const modelHead = await deps.store.head(modelKey);
      if (!modelHead) throw new Error(`${input.modelUri} does not exist`);
      const key = evalKey(modelKey, modelHead.sha256, input.evalSet, input.split);
      const summarize = (m: EvalMetrics, cached: boolean): EvaluateOutput => ({
        resultUri: deps.store.uri(key),
        loss: m.loss,
        accuracy: m.accuracy,
        ece: m.ece,
        perClassAccuracy: m.perClassAccuracy,
        cached,
        attempt: activityInfo().attempt,
      });
      if (await hasValidObject(deps.store, key)) return summarize(await getJson<EvalMetrics>(deps.store, key), true);
      const model = deserializeClassifier(await deps.store.get(modelKey, { maxBytes: 1024 * 1024 * 1024 }));
      const test = await loadDatasetSplit(deps, input.split);
      const metrics = await evaluateClassifier(model, test);
      await putJson(deps.store, key, metrics);
      return summarize(metrics, false);
    },
  };
}
