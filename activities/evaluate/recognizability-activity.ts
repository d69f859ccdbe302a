// Recognizability stage (train queue: it runs the judge classifier): the judge, trained on real
// images, labels the first `count` generated images of a synthetic source; the per-class fraction
// labelled as the prompted class is stored content-addressed beside the judge, with the images'
// diversity and fidelity against real test images in the judge's penultimate layer (diversity.ts).
// Any dataset: the generated images are read at their manifest's geometry, labelled with its
// classes, and the real reference is the test split of the sweep's dataset (datasetFingerprint).
import { activityInfo, heartbeat } from '@temporalio/activity';
import { inputHash } from '../../core/hash.js';
import { getJson, hasValidObject, putJson } from '../../core/storage.js';
import { measureRecognizability } from '../../core/stats/recognizability.js';
import { datasetDescriptor, loadDatasetSplit, type ActivityDeps } from '../../core/activity-deps.js';
import type { ImageSet } from '../../core/datasets/image-set.js';
import { geometryLabel, sameGeometry } from '../../core/image/geometry.js';
import { readManifest } from '../../core/shards/manifest.js';
import { loadFirstSamples } from '../../core/shards/stream.js';
import { deserializeClassifier } from '../../core/nn/classifier.js';
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
      const logits = await predictLogits(judge, data.images, count, { geometry: data.geometry });
      const predicted = argmaxRows(logits, count, manifest.classes.length);
      const result = measureRecognizability(data.labels, predicted, manifest.classes, input.judgeTestAccuracy);
      heartbeat({ phase: 'diversity: features', images: count });
      const real = await referenceImages(deps, input.datasetFingerprint);
      if (!sameGeometry(real.geometry, data.geometry)) {
        throw new Error(`${input.manifestUri} holds ${geometryLabel(data.geometry)} images, the dataset's test split ${geometryLabel(real.geometry)}`);
      }
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

/** The class with the largest logit per row (rows of logits.length / count values: the judge's classes). */
function argmaxRows(logits: ArrayLike<number>, count: number, classCount: number): Uint8Array {
  const stride = count > 0 ? logits.length / count : classCount;
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`the judge gave ${logits.length} logits for ${count} images`);
  if (stride !== classCount) throw new Error(`the judge has ${stride} classes, the source ${classCount}`);
  const predicted = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let c = 1; c < stride; c++) if (logits[i * stride + c]! > logits[i * stride + best]!) best = c;
    predicted[i] = best;
  }
  return predicted;
}

/** The real reference: the dataset's 'test' split (else its first split that is not 'train'); Fashion-MNIST's without a fingerprint. */
async function referenceImages(deps: ActivityDeps, fingerprint: string | undefined): Promise<ImageSet> {
  const descriptor = fingerprint === undefined ? null : await datasetDescriptor(deps, fingerprint);
  const splits = descriptor ? Object.keys(descriptor.splits) : ['test'];
  const split = splits.includes(DIVERSITY_REFERENCE.split) ? DIVERSITY_REFERENCE.split : (splits.find((s) => s !== 'train') ?? DIVERSITY_REFERENCE.split);
  return loadDatasetSplit(deps, fingerprint, split);
}
