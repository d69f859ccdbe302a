// The embedded generator as a generation backend: a shard loads the fitted model at its modelUri
// (cached per URI) and samples each item on the CPU, class weights and attributes from the prompt.
import { IMAGE_SIDE } from '../../../core/datasets/fashion-mnist.js';
import { memoizePromise } from '../../../core/memo.js';
import { encodeGrayPng } from '../../../core/png.js';
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

/** The embedded generator behind the per-item seam. */
function embeddedGenerator(model: GmmGeneratorModel): ItemGenerator {
  return async (item) =>
    encodeGrayPng(
      sampleImage(model, {
        classWeights: promptToClassWeights(item.prompt.text, model.classes),
        attributes: promptAttributes(item.prompt.text, model.classes),
        cfgScale: item.cfgScale,
        steps: item.steps,
        seed: item.seed,
      }),
      IMAGE_SIDE,
      IMAGE_SIDE,
    );
}

/** Its spec may be absent from a shard input: the model at modelUri is all a shard needs. */
export const EMBEDDED_GMM_BACKEND: GeneratorBackend<EmbeddedGeneratorSpec | undefined> = {
  // The generator code version is part of every shard's fingerprint already.
  fingerprintInputs: () => ({}),
  async load(_spec, input, store) {
    const model = await loadModel(store, input.modelUri);
    return { classes: model.classes, itemGenerator: () => embeddedGenerator(model), takeSampleMeta: () => ({}) };
  },
};
