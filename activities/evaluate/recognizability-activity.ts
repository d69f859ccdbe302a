// Recognizability stage (train queue: it runs the judge classifier): the judge, trained on real
// images, labels the first `count` generated images of a synthetic source; the per-class fraction
// labelled as the prompted class is stored content-addressed beside the judge, with the images'
// diversity and fidelity against real test images in the judge's penultimate layer (diversity.ts).
import { activityInfo, heartbeat } from '@temporalio/activity';
import { inputHash } from '../../core/hash.js';
import { getJson, hasValidObject, putJson } from '../../core/storage.js';
import { measureRecognizability } from '../../core/stats/recognizability.js';
import { loadDatasetSplit, type ActivityDeps } from '../../core/activity-deps.js';
import { readManifest } from '../../core/shards/manifest.js';
import { loadFirstSamples } from '../../core/shards/stream.js';
import { deserializeClassifier, NUM_CLASSES } from '../../core/nn/classifier.js';
import { predictLogits } from '../../core/nn/metrics.js';
import { DIVERSITY_REFERENCE, judgeDiversity } from './diversity.js';
export type { RecognizabilityInput, RecognizabilityOutput, RecognizabilityDocument } from '../../contracts/cells.js';
import type { RecognizabilityInput, RecognizabilityOutput, RecognizabilityDocument } from '../../contracts/cells.js';

/** 2: the document adds `diversity` (precision/recall/density/coverage, Fréchet distance, Vendi). 3: within-class Vendi. */
export const RECOGNIZABILITY_CODE_VERSION = 'recognizability-3';

export function createRecognizabilityActivities(deps: ActivityDeps) {
  return {
    async measureRecognizability(input: RecognizabilityInput): Promise<RecognizabilityOutput> {
      const judgeKey = deps.store.keyOf(input.judgeModelUri);
      const [judgeHead, manifestHead] = await Promise.all([deps.store.head(judgeKey), deps.store.head(deps.store.keyOf(input.manifestUri))]);
      if (!judgeHead) throw new Error(`${input.judgeModelUri} does not exist`);
      if (!manifestHead) throw new Error(`${input.manifestUri} does not exist`);
      const dir = judgeKey.split('/').slice(0, -1).join('/');
      const key = `${dir}/recognizability-${inputHash('recognizability', RECOGNIZABILITY_CODE_VERSION, {
        judge: judgeHead.sha256,
        manifest: manifestHead.sha256,
        count: input.count,
        judgeTestAccuracy: input.judgeTestAccuracy,
        diversity: DIVERSITY_REFERENCE,
      })}.json`;
      const attempt = activityInfo().attempt;
      if (await hasValidObject(deps.store, key)) {
        const doc = await getJson<RecognizabilityDocument>(deps.store, key);
        return { resultUri: deps.store.uri(key), overall: doc.overall, cached: true, attempt };
      }
      const manifest = await readManifest(deps.store, input.manifestUri);
      const count = Math.min(input.count, manifest.totalSamples);
      const judge = deserializeClassifier(await deps.store.get(judgeKey, { maxBytes: 1024 * 1024 * 1024 }));
      heartbeat({ phase: 'loading', images: count });
      const data = await loadFirstSamples(deps.store, manifest, count);
      heartbeat({ phase: 'judging', images: count });
      const logits = await predictLogits(judge, data.images, count);
      const predicted = new Uint8Array(count);
      for (let i = 0; i < count; i++) {
        let best = 0;
        for (let c = 1; c < NUM_CLASSES; c++) if (logits[i * NUM_CLASSES + c]! > logits[i * NUM_CLASSES + best]!) best = c;
        predicted[i] = best;
      }
      const result = measureRecognizability(data.labels, predicted, manifest.classes, input.judgeTestAccuracy);
      heartbeat({ phase: 'diversity: features', images: count });
      const real = await loadDatasetSplit(deps, undefined, 'test');
      const diversity = await judgeDiversity(judge, data, real, async (step) => {
        heartbeat({ phase: `diversity: ${step}`, images: count });
        await new Promise<void>((resolve) => setImmediate(resolve));
      });
      const doc: RecognizabilityDocument = { ...result, manifestUri: input.manifestUri, judgeModelUri: input.judgeModelUri, ...(diversity ? { diversity } : {}) };
      await putJson(deps.store, key, doc);
      return { resultUri: deps.store.uri(key), overall: result.overall, cached: false, attempt };
    },
  };
}
