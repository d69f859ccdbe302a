// Evaluation stage: a trained cell on a real eval split; results stored beside the model.
import { activityInfo } from '@temporalio/activity';
import { inputHash } from '../../core/hash.js';
import { keySegment } from '../../core/keys.js';
import { getJson, hasValidObject, putJson } from '../../core/storage.js';
import { loadDatasetSplit, type ActivityDeps } from '../context.js';
import { deserializeClassifier } from '../train/classifier.js';
import { evaluateClassifier, type EvalMetrics } from './metrics.js';
import { applySuiteToSet, type OodSuiteName } from './ood.js';
import { memoizePromise } from '../../core/memo.js';
import type { ImageSet } from '../../core/fashion-mnist.js';
import type { EvalSetSpec } from '../../core/types.js';

/** Part of a shifted eval result's key: bump when a suite's images change. */
export const OOD_CODE_VERSION = 'ood-1';

export const EVALUATE_CODE_VERSION = 'evaluate-1';

/** Where a model's result on an eval split lives: beside the model, keyed by the model's checksum. */
export function evalKey(modelKey: string, modelSha: string, evalSet: string, split: string, shift?: EvalSetSpec['shift']): string {
  const dir = modelKey.split('/').slice(0, -1).join('/');
  const shifted = shift ? { shift, ood: OOD_CODE_VERSION } : {};
  return `${dir}/eval-${keySegment(evalSet, 'evalSet')}-${inputHash('evaluate', EVALUATE_CODE_VERSION, { model: modelSha, split, ...shifted })}.json`;
}

export interface EvaluateInput {
  modelUri: string;
  evalSet: string;
  split: 'test';
  /** Evaluate on the split under this OOD shift (absent: clean). */
  shift?: EvalSetSpec['shift'];
}

/** Shifted test sets, memoized per process: every cell of a worker evaluates on the same images. */
const shiftedSets = new Map<string, Promise<ImageSet>>();

/** The real split an eval set evaluates on: clean, or under its OOD shift (classifier and CLIP cells alike). */
export async function loadEvalImages(deps: ActivityDeps, split: 'test', shift?: EvalSetSpec['shift']): Promise<ImageSet> {
  const clean = await loadDatasetSplit(deps, split);
  if (!shift) return clean;
  return memoizePromise(
    shiftedSets,
    `${split}|${shift.suite}|${shift.severity}|${shift.seed}`,
    async () => applySuiteToSet({ suite: shift.suite as OodSuiteName, severity: shift.severity }, clean, shift.seed),
    4,
  );
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
      const key = evalKey(modelKey, modelHead.sha256, input.evalSet, input.split, input.shift);
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
      const test = await loadEvalImages(deps, input.split, input.shift);
      const metrics = await evaluateClassifier(model, test);
      await putJson(deps.store, key, metrics);
      return summarize(metrics, false);
    },
  };
}
