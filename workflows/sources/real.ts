// A real source: the dataset's training images, sharded as they are.
import { describeSource } from '../../contracts/sources.js';
import type { RealSourceSpec } from '../../contracts/sweep.js';
import { cpu } from '../proxies.js';
import type { SourceHandler } from './context.js';
import { summary } from '../labels.js';

export const realSource: SourceHandler<RealSourceSpec> = async ({ input, source, progress, shardsTotal, stats, setStage }) => {
  setStage('shard');
  const out = await cpu.writeRealShards.executeWithOptions(summary(`shard · ${source.name} · ${input.count} real images in ${shardsTotal} shards`), [{
    source: 'real',
    count: input.count,
    shardSize: input.shardSize,
    seed: input.generationSeed,
    datasetFingerprint: input.datasetFingerprint,
    ...(input.seeds ? { seeds: input.seeds } : {}),
  }]);
  Object.assign(progress, { stage: 'done', shardsDone: shardsTotal, imagesDone: out.totalSamples });
  return {
    summary: {
      name: source.name,
      kind: 'real',
      description: describeSource(source),
      manifestUri: out.manifestUri,
      ...(out.seedManifests ? { seedManifests: out.seedManifests } : {}),
      images: out.totalSamples,
    },
    stats,
  };
};
