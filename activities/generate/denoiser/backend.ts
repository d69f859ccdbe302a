// The neural generator as a generation backend: a shard loads the fitted denoiser at its modelUri
// (cached per URI) and samples each item on the CPU in plain JS (sampler.ts), class weights and
// attributes from the prompt by the same text encoding as the Gaussian-mixture generator.
import { ApplicationFailure } from '@temporalio/activity';
import { FAILURE_TYPES } from '../../../contracts/failures.js';
import type { GeneratorSpec } from '../../../contracts/spec/sweep.js';
import { geometryLabel, sameGeometry } from '../../../core/image/geometry.js';
import { memoizePromise } from '../../../core/memo.js';
import { encodePng } from '../../../core/png.js';
import type { BlobStore } from '../../../core/storage.js';
import { promptAttributes, promptToClassWeights } from '../../../core/text/text-condition.js';
import type { GeneratorBackend } from '../generator-backend.js';
import type { GenerateItem, ItemGenerator } from '../item-generator.js';
import type { SampleOptions } from '../gmm/model.js';
import { DENOISER_CODE_VERSION, type DenoiserGeneratorModel } from './model.js';
import { deserializeDenoiserModel } from './model-format.js';
import { sampleBatch, sampleImage } from './sampler.js';

const models = new Map<string, Promise<DenoiserGeneratorModel>>();

/** The model at `uri` (memoized per URI; bounded read, validated). */
export function loadDenoiserModel(store: BlobStore, uri: string): Promise<DenoiserGeneratorModel> {
  return memoizePromise(models, uri, async () => deserializeDenoiserModel(await store.get(store.keyOf(uri), { maxBytes: 64 * 1024 * 1024 })), 16);
}

/** What the sampler is asked for an item: the prompt's class weights and attributes, its guidance, steps and seed. */
export function itemSampleOptions(model: DenoiserGeneratorModel, item: GenerateItem): SampleOptions {
  return {
    classWeights: promptToClassWeights(item.prompt.text, model.classes),
    attributes: promptAttributes(item.prompt.text, model.classes),
    cfgScale: item.cfgScale,
    steps: item.steps,
    seed: item.seed,
  };
}

/** The denoiser behind the per-item seam: PNGs at the model's geometry. */
export function denoiserItemGenerator(model: DenoiserGeneratorModel): ItemGenerator {
  return async (item) => encodePng(sampleImage(model, itemSampleOptions(model, item)), model.geometry);
}

/** Many items' PNGs at once (sampled in batches; each equal to the per-item generator's). */
export function denoiserBatchPngs(model: DenoiserGeneratorModel, items: readonly GenerateItem[]): Uint8Array[] {
  const pixels = sampleBatch(model, items.map((item) => itemSampleOptions(model, item)));
  return items.map((_, i) => encodePng(pixels.subarray(i * model.pixels, (i + 1) * model.pixels), model.geometry));
}

/** Its spec is not read: the model at modelUri is all a shard needs (like the Gaussian-mixture backend's). */
export const EMBEDDED_DENOISER_BACKEND: GeneratorBackend<GeneratorSpec | undefined> = {
  // The denoiser's own code version (the shared generator code version is in every fingerprint already).
  fingerprintInputs: () => ({ denoiserCode: DENOISER_CODE_VERSION }),
  async load(_spec, input, store, request) {
    const model = await loadDenoiserModel(store, input.modelUri);
    if (input.datasetFingerprint !== undefined && !sameGeometry(model.geometry, request.geometry)) {
      throw ApplicationFailure.nonRetryable(
        `${input.modelUri} samples ${geometryLabel(model.geometry)} images, the sweep's dataset is ${geometryLabel(request.geometry)}`,
        FAILURE_TYPES.invalidInput,
      );
    }
    // Sampled and encoded right here, synchronously (see ShardGenerator.inProcess).
    return { classes: model.classes, geometry: model.geometry, inProcess: true, itemGenerator: () => denoiserItemGenerator(model), takeSampleMeta: () => ({}) };
  },
};
