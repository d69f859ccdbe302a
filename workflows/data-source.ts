// One data source: real images sharded as-is, or prompts -> generator -> shards for the largest N.
import {
  condition,
  defineQuery,
  getExternalWorkflowHandle,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SourceSpec } from '../core/spec.js';
import type { SourceSummary } from '../core/types.js';
import type { ShardRecord } from '../activities/shards/manifest.js';
import { cpu, fit, generate } from './proxies.js';
import { STAGE } from './search-attributes.js';
import { Semaphore } from './semaphore.js';
import { pauseSignal, resumeSignal, sourceProgressSignal } from './signals.js';

export interface DataSourceInput {
  sweepId: string;
  source: SourceSpec;
  /** Images the sweep needs: its largest N. Smaller N take a prefix (nested subsets). */
  count: number;
  shardSize: number;
  generationSeed: number;
  maxConcurrentShards: number;
  /** Fraction of items that may fail for good; that many extra images are generated. */
  failureBudget: number;
  classes: string[];
  datasetFingerprint: string;
  /** Content hash of the source's configuration (from the plan), prefix of its storage keys. */
  sourceKey: string;
}

export interface GenerationStats {
  imagesSampled: number;
  shardsCached: number;
  activityRetries: number;
  itemRetries: number;
  storageRetries: number;
  failedItems: number;
  corruptRegenerated: number;
}

export interface DataSourceOutput {
  summary: SourceSummary;
  stats: GenerationStats;
}

export interface DataSourceProgress {
  stage: string;
  paused: boolean;
  shardsDone: number;
  shardsTotal: number;
  imagesDone: number;
  stats: GenerationStats;
}

export const dataSourceProgressQuery = defineQuery<DataSourceProgress>('progress');

export function describeSource(source: SourceSpec): string {
  if (source.kind === 'real') return 'real Fashion-MNIST training images';
  return `${source.generator.name} (${source.generator.pcaDims} PCA dims, ${source.generator.componentsPerClass} comps/class, ${source.generator.steps} DDIM steps), prompts: ${source.prompts.strategy}, CFG ${source.cfgScale}`;
}

export function emptyGenerationStats(): GenerationStats {
  return { imagesSampled: 0, shardsCached: 0, activityRetries: 0, itemRetries: 0, storageRetries: 0, failedItems: 0, corruptRegenerated: 0 };
}

export async function dataSourceWorkflow(input: DataSourceInput): Promise<DataSourceOutput> {
  const { source, shardSize } = input;
  const stats = emptyGenerationStats();
  // Items may fail for good (up to the budget): generate that many extra so N images remain.
  const target = source.kind === 'real' ? input.count : Math.ceil(input.count * (1 + input.failureBudget));
  const shardsTotal = Math.ceil(target / shardSize);
  const progress: DataSourceProgress = { stage: 'starting', paused: false, shardsDone: 0, shardsTotal, imagesDone: 0, stats };
  setHandler(dataSourceProgressQuery, () => progress);
  setHandler(pauseSignal, () => void (progress.paused = true));
  setHandler(resumeSignal, () => void (progress.paused = false));
  const parent = workflowInfo().parent;
  const reportProgress = async () => {
    if (!parent) return;
    await getExternalWorkflowHandle(parent.workflowId).signal(sourceProgressSignal, {
      source: source.name,
      imagesDone: progress.imagesDone,
      imagesTotal: target,
    });
  };
  const started = Date.now();
  const setStage = (stage: string) => {
    progress.stage = stage;
    upsertSearchAttributes([{ key: STAGE, value: stage }]);
  };

  if (source.kind === 'real') {
    setStage('shard');
    const out = await cpu.writeRealShards({
      source: 'real',
      count: input.count,
      shardSize,
      seed: input.generationSeed,
      datasetFingerprint: input.datasetFingerprint,
    });
    Object.assign(progress, { stage: 'done', shardsDone: shardsTotal, imagesDone: out.totalSamples });
    return {
      summary: { name: source.name, kind: 'real', description: describeSource(source), manifestUri: out.manifestUri, images: out.totalSamples },
      stats,
    };
  }

  setStage('fit-generator');
  const [model, prompts] = await Promise.all([
    fit.fitGenerator({ generator: source.generator, classes: input.classes, datasetFingerprint: input.datasetFingerprint }),
    cpu.synthesizePrompts({ strategy: source.prompts.strategy, classes: input.classes, count: target, seed: input.generationSeed }),
  ]);

  setStage('generate');
  const window = new Semaphore(input.maxConcurrentShards);
  const generatorLabel = `${source.generator.name}@${model.modelUri.split('/').slice(-2, -1)[0] ?? ''}`;
  const shards: ShardRecord[] = await Promise.all(
    Array.from({ length: shardsTotal }, (_, shard) =>
      window.run(async () => {
        await condition(() => !progress.paused);
        const firstIndex = shard * shardSize;
        const out = await generate.generateShard({
          // Shard bytes name the content key, not the sweep's label, so other sweeps can share them.
          source: input.sourceKey.split('/').pop()!,
          shardKey: `${input.sourceKey}/shard-${String(shard).padStart(6, '0')}.tar`,
          modelUri: model.modelUri,
          promptsUri: prompts.promptsUri,
          firstIndex,
          count: Math.min(shardSize, target - firstIndex),
          cfgScale: source.cfgScale,
          steps: source.generator.steps,
          generationSeed: input.generationSeed,
          generatorLabel,
        });
        progress.shardsDone++;
        progress.imagesDone += out.samples;
        stats.imagesSampled += out.imagesSampled;
        stats.activityRetries += out.attempt - 1;
        stats.itemRetries += out.itemRetries;
        stats.storageRetries += out.storageRetries;
        stats.failedItems += out.failedItems.length;
        if (out.cached) stats.shardsCached++;
        if (out.corruptRegenerated) stats.corruptRegenerated++;
        await reportProgress();
        return { uri: out.uri, sha256: out.sha256, bytes: out.bytes, samples: out.samples, firstIndex: out.firstIndex, failedItems: out.failedItems };
      }),
    ),
  );

  setStage('manifest');
  const manifest = await cpu.writeSourceManifest({
    // Content, not the sweep's label: sweeps that share this source share its manifest and cells.
    source: input.sourceKey.split('/').pop()!,
    kind: 'synthetic',
    description: describeSource(source),
    classes: input.classes,
    manifestKey: `${input.sourceKey}/manifest-n${target}.json`,
    shards,
    requiredSamples: input.count,
  });
  progress.stage = 'done';
  return {
    summary: {
      name: source.name,
      kind: 'synthetic',
      description: describeSource(source),
      cfgScale: source.cfgScale,
      promptStrategy: source.prompts.strategy,
      manifestUri: manifest.manifestUri,
      images: manifest.totalSamples,
      generationSeconds: (Date.now() - started) / 1000,
    },
    stats,
  };
}

/** Child workflow ids are `${parent}/${part}` so a sweep's children group together in the UI. */
export function childId(part: string): string {
  return `${workflowInfo().workflowId}/${part}`;
}
