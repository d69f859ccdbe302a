// A control source: the real source's images (per seed, the same draws) passed through the
// embedded generator's representation, PCA projection and reconstruction. Its gap to real is the
// representation's share of the real-synthetic gap; the rest is the generator's modelling.
import { describeSource } from '../../contracts/sources.js';
import type { ControlSourceSpec } from '../../contracts/spec/sweep.js';
import { fit, generate } from '../proxies.js';
import type { SourceHandler } from './context.js';
import { describeGenerator } from '../../contracts/generators.js';
import { summary } from '../labels.js';

export const controlSource: SourceHandler<ControlSourceSpec> = async ({ input, source, progress, shardsTotal, stats, setStage }) => {
  setStage('fit-generator');
  const model = await fit.fitGenerator.executeWithOptions(summary(`fit generator · ${source.name} · ${describeGenerator(source.generator)}`), [
    { generator: source.generator, classes: input.classes, datasetFingerprint: input.datasetFingerprint },
  ]);
  setStage('shard');
  const out = await generate.writeControlShards.executeWithOptions(summary(`control shards · ${source.name} · ${input.count} images in ${shardsTotal} shards`), [{
    modelUri: model.modelUri,
    count: input.count,
    shardSize: input.shardSize,
    seed: input.generationSeed,
    ...(input.seeds ? { seeds: input.seeds } : {}),
    datasetFingerprint: input.datasetFingerprint,
  }]);
  Object.assign(progress, { stage: 'done', shardsDone: shardsTotal, imagesDone: out.totalSamples });
  return {
    summary: {
      name: source.name,
      kind: 'control',
      description: describeSource(source),
      manifestUri: out.manifestUri,
      ...(out.seedManifests ? { seedManifests: out.seedManifests } : {}),
      images: out.totalSamples,
      generatorRealImages: model.realImages,
    },
    stats,
  };
};
