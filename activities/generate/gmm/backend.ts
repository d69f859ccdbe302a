// The embedded generator as a generation backend: a shard loads the fitted model at its modelUri
// (cached per URI) and samples each item on the CPU, class weights and attributes from the prompt.
import { ApplicationFailure } from '@temporalio/activity';
import { FAILURE_TYPES } from '../../../contracts/failures.js';
import { geometryLabel, sameGeometry } from '../../../core/image/geometry.js';
import { memoizePromise } from '../../../core/memo.js';
import { encodePng } from '../../../core/png.js';
import type { BlobStore } from '../../../core/storage.js';
import { promptAttributes, promptToClassWeights } from '../../../core/text/text-condition.js';
import type { EmbeddedGeneratorSpec } from '../../../contracts/spec/sweep.js';
import type { GeneratorBackend } from '../generator-backend.js';
import type { ItemGenerator } from '../item-generator.js';
import type { GmmGeneratorModel } from './model.js';
import { deserializeGmmModel } from './model-format.js';
import { sampleImage } from './sampler.js';

const models = new Map<string, Promise<GmmGeneratorModel>>();

function loadModel(store: BlobStore, uri: string): Promise<GmmGeneratorModel> {
  return memoizePromise(models, uri, async () => deserializeGmmModel(await store.get(store.keyOf(uri), { maxBytes: 64 * 1024 * 1024 })), 16);
}

/** The embedded generator behind the per-item seam: PNGs at the model's geometry. */
function embeddedGenerator(model: GmmGeneratorModel): ItemGenerator {
  return async (item) =>
    encodePng(
      sampleImage(model, {
        classWeights: promptToClassWeights(item.prompt.text, model.classes),
        attributes: promptAttributes(item.prompt.text, model.classes),
        cfgScale: item.cfgScale,
        steps: item.steps,
        seed: item.seed,
      }),
      model.geometry,
    );
}

/** Its spec may be absent from a shard input: the model at modelUri is all a shard needs. */
export const EMBEDDED_GMM_BACKEND: GeneratorBackend<EmbeddedGeneratorSpec | undefined> = {
  // The generator code version is part of every shard's fingerprint already.
  fingerprintInputs: () => ({}),
  async load(_spec, input, store, request) {
    const model = await loadModel(store, input.modelUri);
    if (input.datasetFingerprint !== undefined && !sameGeometry(model.geometry, request.geometry)) {
      throw ApplicationFailure.nonRetryable(
        `${input.modelUri} samples ${geometryLabel(model.geometry)} images, the sweep's dataset is ${geometryLabel(request.geometry)}`,
        FAILURE_TYPES.invalidInput,
      );
    }
    // Sampled and encoded right here, synchronously (see ShardGenerator.inProcess).
    return { classes: model.classes, geometry: model.geometry, inProcess: true, itemGenerator: () => embeddedGenerator(model), takeSampleMeta: () => ({}) };
  },
};
