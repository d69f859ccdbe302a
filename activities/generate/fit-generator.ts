// The fitGenerator activity: fit an embedded generator once per (spec, classes, dataset) on the
// first `fitImages` images of the dataset's generator pool (core/datasets/splits.ts), never on the
// real pool, and store it under a content key; a stored model that verifies is reused. The
// Gaussian mixture fits in one pass; the neural denoiser trains, checkpointing beside its model's
// key and resuming from the checkpoint after a kill.
import { activityInfo, Context, heartbeat, log } from '@temporalio/activity';
import { GENERATOR_CODE_VERSION } from '../../contracts/code-versions.js';
import type { EmbeddedDenoiserGeneratorSpec } from '../../contracts/spec/sweep.js';
import { loadDatasetSplit, type ActivityDeps } from '../../core/activity-deps.js';
import { inputHash } from '../../core/hash.js';
import { hasValidObject, type BlobStore } from '../../core/storage.js';
import { recordWork } from '../../core/work-ledger.js';
import { fitDenoiserGenerator } from './denoiser/fit.js';
import { serializeDenoiserModel } from './denoiser/model-format.js';
import { DENOISER_CODE_VERSION } from './denoiser/model.js';
import { generatorFitSet } from './fit-set.js';
import { fitGmmGenerator } from './gmm/fit.js';
import { serializeGmmModel } from './gmm/model-format.js';
import type { FitGeneratorInput, FitGeneratorOutput } from './io.js';

type FitSet = ReturnType<typeof generatorFitSet>;

export async function fitGenerator(deps: ActivityDeps, openStore: (what: string) => BlobStore, input: FitGeneratorInput): Promise<FitGeneratorOutput> {
  const started = Date.now();
  const store = openStore('fitGenerator');
  // A preset only names the parameters: the same parameters are the same model, named or not.
  const { preset: _preset, ...generator } = input.generator;
  const codeVersion = generator.name === 'embedded-denoiser' ? `${GENERATOR_CODE_VERSION}+${DENOISER_CODE_VERSION}` : GENERATOR_CODE_VERSION;
  const prefix = `generators/${generator.name}-${inputHash('fit-generator', codeVersion, { ...input, generator })}`;
  const key = `${prefix}/model.bin`;
  if (await hasValidObject(store, key, (m) => log.warn('refitting corrupt generator', { reason: m }))) {
    return { modelUri: store.uri(key), realImages: input.generator.fitImages, cached: true, seconds: (Date.now() - started) / 1000 };
  }
  const train = await loadDatasetSplit(deps, input.datasetFingerprint, 'train');
  const fitSet = generatorFitSet(train, input.datasetFingerprint, input.generator.fitImages);
  const bytes =
    generator.name === 'embedded-denoiser'
      ? await trainDenoiser(store, prefix, fitSet, generator, input.classes)
      : serializeGmmModel(
          fitGmmGenerator(fitSet, { pcaDims: generator.pcaDims, componentsPerClass: generator.componentsPerClass, fitSeed: generator.fitSeed }, input.classes, (message) =>
            heartbeat({ phase: message }),
          ),
        );
  recordWork({ kind: 'generator-fit', key, from: 0, to: 1, attempt: activityInfo().attempt });
  const put = await store.put(key, bytes);
  return { modelUri: put.uri, realImages: fitSet.count, cached: false, seconds: (Date.now() - started) / 1000 };
}

/** The denoiser's training, resuming from `${prefix}/checkpoint.bin`; each checkpoint's steps reach the work ledger. */
async function trainDenoiser(store: BlobStore, prefix: string, fitSet: FitSet, g: EmbeddedDenoiserGeneratorSpec, classes: string[]): Promise<Uint8Array> {
  const checkpointKey = `${prefix}/checkpoint.bin`;
  const attempt = activityInfo().attempt;
  const { model } = await fitDenoiserGenerator(fitSet, g, classes, {
    heartbeat: (detail) => heartbeat(detail),
    checkpoint: {
      load: async () =>
        (await hasValidObject(store, checkpointKey, (m) => log.warn('ignoring a corrupt generator checkpoint', { reason: m }))) ? store.get(checkpointKey) : undefined,
      save: async (checkpoint, at) => {
        await store.put(checkpointKey, checkpoint);
        recordWork({ kind: 'train-steps', key: prefix, from: at.from, to: at.step, attempt });
      },
    },
    onResumeIgnored: (reason) => log.warn('generator checkpoint not resumed; training from step 0', { reason }),
    signal: Context.current().cancellationSignal,
  });
  return serializeDenoiserModel(model);
}
