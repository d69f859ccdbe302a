// One data source: real images sharded as-is, or prompts -> generator -> shards for the largest N.
import { defineQuery, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SourceSpec } from '../core/spec.js';
import type { SourceSummary } from '../core/types.js';
import type { ShardRecord } from '../activities/shards/manifest.js';
import { cpu, fit, generate } from './proxies.js';
import { STAGE } from './search-attributes.js';
import { Semaphore } from './semaphore.js';

export interface DataSourceInput {
  sweepId: string;
  source: SourceSpec;
  /** The largest N of the sweep: generated once, smaller N take a prefix. */
  count: number;
  shardSize: number;
  generationSeed: number;
  maxConcurrentShards: number;
  classes: string[];
  datasetFingerprint: string;
  /** Content hash of the source's configuration (from the sweep), prefix of its storage keys. */
  sourceKey: string;
}

export interface DataSourceProgress {
  stage: string;
  shardsDone: number;
  shardsTotal: number;
  imagesDone: number;
  cachedShards: number;
}

export const dataSourceProgressQuery = defineQuery<DataSourceProgress>('progress');

export function describeSource(source: SourceSpec): string {
  if (source.kind === 'real') return 'real Fashion-MNIST training images';
  return `${source.generator.name} (${source.generator.pcaDims} PCA dims, ${source.generator.componentsPerClass} comps/class, ${source.generator.steps} DDIM steps), prompts: ${source.prompts.strategy}, CFG ${source.cfgScale}`;
}

export async function dataSourceWorkflow(input: DataSourceInput): Promise<SourceSummary> {
  const { source, count, shardSize } = input;
  const shardsTotal = Math.ceil(count / shardSize);
  const progress: DataSourceProgress = { stage: 'starting', shardsDone: 0, shardsTotal, imagesDone: 0, cachedShards: 0 };
  setHandler(dataSourceProgressQuery, () => progress);
  const started = Date.now();
  const setStage = (stage: string) => {
    progress.stage = stage;
    upsertSearchAttributes([{ key: STAGE, value: stage }]);
  };

  if (source.kind === 'real') {
    setStage('shard');
    const out = await cpu.writeRealShards({
      source: 'real',
      count,
      shardSize,
      seed: input.generationSeed,
      datasetFingerprint: input.datasetFingerprint,
    });
    Object.assign(progress, { stage: 'done', shardsDone: shardsTotal, imagesDone: out.totalSamples });
    return { name: source.name, kind: 'real', description: describeSource(source), manifestUri: out.manifestUri, images: out.totalSamples };
  }

  setStage('fit-generator');
  const [model, prompts] = await Promise.all([
    fit.fitGenerator({ generator: source.generator, classes: input.classes, datasetFingerprint: input.datasetFingerprint }),
    cpu.synthesizePrompts({ strategy: source.prompts.strategy, classes: input.classes, count, seed: input.generationSeed }),
  ]);

  setStage('generate');
  const window = new Semaphore(input.maxConcurrentShards);
  const generatorLabel = `${source.generator.name}@${model.modelUri.split('/').slice(-2, -1)[0] ?? ''}`;
  const shards: ShardRecord[] = await Promise.all(
    Array.from({ length: shardsTotal }, (_, shard) =>
      window.run(async () => {
        const firstIndex = shard * shardSize;
        const out = await generate.generateShard({
          // Shard bytes name the content key, not the sweep's label, so other sweeps can share them.
          source: input.sourceKey.split('/').pop()!,
          shardKey: `${input.sourceKey}/shard-${String(shard).padStart(6, '0')}.tar`,
          modelUri: model.modelUri,
          promptsUri: prompts.promptsUri,
          firstIndex,
          count: Math.min(shardSize, count - firstIndex),
          cfgScale: source.cfgScale,
          steps: source.generator.steps,
          generationSeed: input.generationSeed,
          generatorLabel,
        });
        progress.shardsDone++;
        progress.imagesDone += out.samples;
        if (out.cached) progress.cachedShards++;
        const { cached: _cached, seconds: _seconds, ...record } = out;
        return record;
      }),
    ),
  );

  setStage('manifest');
  const manifest = await cpu.writeSourceManifest({
    source: source.name,
    kind: 'synthetic',
    description: describeSource(source),
    classes: input.classes,
    manifestKey: `${input.sourceKey}/manifest-n${count}.json`,
    shards,
  });
  progress.stage = 'done';
  return {
    name: source.name,
    kind: 'synthetic',
    description: describeSource(source),
    cfgScale: source.cfgScale,
    promptStrategy: source.prompts.strategy,
    manifestUri: manifest.manifestUri,
    images: manifest.totalSamples,
    generationSeconds: (Date.now() - started) / 1000,
  };
}

/** Child workflow ids are `${parent}/${part}` so a sweep's children group together in the UI. */
export function childId(part: string): string {
  return `${workflowInfo().workflowId}/${part}`;
}
