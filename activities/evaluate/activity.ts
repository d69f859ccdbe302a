// Evaluation stage: a trained cell on a real eval split; results stored beside the model.
import { activityInfo } from '@temporalio/activity';
import { getJson, hasValidObject, putJson } from '../../core/storage.js';
import type { ActivityDeps } from '../../core/activity-deps.js';
import { deserializeClassifier } from '../../core/nn/classifier.js';
import { evaluateClassifier, type EvalMetrics } from '../../core/nn/metrics.js';
import { evalKey, type EvaluateInput, type EvaluateOutput } from '../../contracts/cells.js';
import { loadEvalImages } from '../../core/datasets/eval-images.js';
export type { EvaluateInput, EvaluateOutput } from '../../contracts/cells.js';
export { OOD_CODE_VERSION, EVALUATE_CODE_VERSION, evalKey } from '../../contracts/cells.js';
export { loadEvalImages } from '../../core/datasets/eval-images.js';

export function createEvaluateActivities(deps: ActivityDeps) {
  return {
    async evaluateClassifier(input: EvaluateInput): Promise<EvaluateOutput> {
      const modelKey = deps.store.keyOf(input.modelUri);
      const modelHead = await deps.store.head(modelKey);
      if (!modelHead) throw new Error(`${input.modelUri} does not exist`);
      const key = evalKey(modelKey, modelHead.sha256, input.evalSet, input.split, input.shift, input.dataset);
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
      const test = await loadEvalImages(deps, input);
      const metrics = await evaluateClassifier(model, test);
      await putJson(deps.store, key, metrics);
      return summarize(metrics, false);
    },
  };
}
