// A real-pairs source: image-caption shards (a lab's own, or pairs built from the dataset with the
// seeded caption model), imported into the sweep's own shards.
import { describeSource } from '../../contracts/sources.js';
import type { RealPairsSourceSpec } from '../../contracts/spec/sweep.js';
import { importer } from '../proxies.js';
import type { SourceHandler } from './context.js';
import { summary } from '../labels.js';

export const realPairsSource: SourceHandler<RealPairsSourceSpec> = async ({ input, source, progress, shardsTotal, stats, setStage }) => {
  // The embedded pairs are written as img2dataset shards first, then read like a lab's own.
  setStage(source.shards ? 'import' : 'caption');
  const shards =
    source.shards ??
    (
      await importer.writeFashionMnistPairs.executeWithOptions(summary(`caption pairs · ${source.name} · ${input.count} seeded image-caption pairs`), [{
        count: input.count,
        shardSize: input.shardSize,
        seed: input.generationSeed,
        datasetFingerprint: input.datasetFingerprint,
      }])
    ).shardUris;
  setStage('import');
  const out = await importer.importPairShards.executeWithOptions(summary(`import pairs · ${source.name} · ${shards.length} shards · ${input.count} pairs`), [{
    source: source.name,
    field: `sources.${input.sourceIndex ?? '?'}.shards`,
    datasetFingerprint: input.datasetFingerprint,
    shards,
    count: input.count,
    shardSize: input.shardSize,
    maxShardBytes: source.maxShardBytes,
    classes: input.classes,
    description: describeSource(source),
  }]);
  Object.assign(progress, { stage: 'done', shardsDone: shardsTotal, imagesDone: out.totalSamples });
  return {
    summary: {
      name: source.name,
      kind: 'real-pairs',
      description: describeSource(source),
      manifestUri: out.manifestUri,
      images: out.totalSamples,
      pairs: { inputShards: out.inputShards, labels: out.labels },
    },
    stats,
  };
};
