// The fitGenerator activity: fit the embedded generator once per (spec, classes, dataset) on the
// first `fitImages` images of the dataset's generator pool (core/datasets/splits.ts), never on the
// real pool, and store it under a content key; a stored model that verifies is reused.
import { activityInfo, heartbeat, log } from '@temporalio/activity';
import { GENERATOR_CODE_VERSION } from '../../contracts/code-versions.js';
import { loadDatasetSplit, type ActivityDeps } from '../../core/activity-deps.js';
import { inputHash } from '../../core/hash.js';
import { hasValidObject, type BlobStore } from '../../core/storage.js';
import { recordWork } from '../../core/work-ledger.js';
import { generatorFitSet } from './fit-set.js';
import { fitGmmGenerator } from './gmm/fit.js';
import { serializeGmmModel } from './gmm/model-format.js';
import type { FitGeneratorInput, FitGeneratorOutput } from './io.js';

export async function fitGenerator(deps: ActivityDeps, openStore: (what: string) => BlobStore, input: FitGeneratorInput): Promise<FitGeneratorOutput> {
  const started = Date.now();
  const store = openStore('fitGenerator');
  const key = `generators/${input.generator.name}-${inputHash('fit-generator', GENERATOR_CODE_VERSION, input)}/model.bin`;
  if (await hasValidObject(store, key, (m) => log.warn('refitting corrupt generator', { reason: m }))) {
    return { modelUri: store.uri(key), realImages: input.generator.fitImages, cached: true, seconds: (Date.now() - started) / 1000 };
  }
  const train = await loadDatasetSplit(deps, input.datasetFingerprint, 'train');
  const fitSet = generatorFitSet(train, input.datasetFingerprint, input.generator.fitImages);
  const model = fitGmmGenerator(
    fitSet,
    { pcaDims: input.generator.pcaDims, componentsPerClass: input.generator.componentsPerClass, fitSeed: input.generator.fitSeed },
    input.classes,
    (message) => heartbeat({ phase: message }),
  );
  recordWork({ kind: 'generator-fit', key, from: 0, to: 1, attempt: activityInfo().attempt });
  const put = await store.put(key, serializeGmmModel(model));
  return { modelUri: put.uri, realImages: fitSet.count, cached: false, seconds: (Date.now() - started) / 1000 };
}
