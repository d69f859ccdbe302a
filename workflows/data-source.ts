// One data source: real images sharded as-is, or prompts -> generator -> shards for the largest N.
import {
  condition,
  defineQuery,
  getExternalWorkflowHandle,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ShardRecord } from '../core/shards/manifest.js';
import type { DataSourceInput, DataSourceOutput, DataSourceProgress } from '../contracts/sweep.js';
import { emptyGenerationStats } from '../contracts/sweep.js';
import { describeSource, generatorSteps, hostOf } from '../contracts/describe.js';
import { cpu, fit, generate, importer } from './proxies.js';
import { STAGE } from './search-attributes.js';
import { Semaphore } from './semaphore.js';
import { pauseSignal, resumeSignal, sourceProgressSignal } from './signals.js';






export const dataSourceProgressQuery = defineQuery<DataSourceProgress>('progress');






export async function dataSourceWorkflow(input: DataSourceInput): Promise<DataSourceOutput> {
  const { source, shardSize } = input;
  const stats = emptyGenerationStats();
  // Items may fail for good (up to the budget): generate that many extra so N images remain.
  const target = source.kind === 'real' || source.kind === 'real-pairs' ? input.count : Math.ceil(input.count * (1 + input.failureBudget));
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

  if (source.kind === 'real-pairs') {
    // The embedded pairs are written as img2dataset shards first, then read like a lab's own.
    setStage(source.shards ? 'import' : 'caption');
    const shards =
      source.shards ??
      (
        await importer.writeFashionMnistPairs({
          count: input.count,
          shardSize,
          seed: input.generationSeed,
          datasetFingerprint: input.datasetFingerprint,
        })
      ).shardUris;
    setStage('import');
    const out = await importer.importPairShards({
      source: source.name,
      field: `sources.${input.sourceIndex ?? '?'}.shards`,
      shards,
      count: input.count,
      shardSize,
      maxShardBytes: source.maxShardBytes,
      classes: input.classes,
      description: describeSource(source),
    });
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
  }

  const generator = source.generator;
  setStage(generator.name === 'embedded-gmm' ? 'fit-generator' : 'prompts');
  // Only the embedded generator is fitted; an HTTP generator is a server that is already running.
  const [model, prompts] = await Promise.all([
    generator.name === 'embedded-gmm'
      ? fit.fitGenerator({ generator, classes: input.classes, datasetFingerprint: input.datasetFingerprint })
      : Promise.resolve(null),
    cpu.synthesizePrompts({
      prompts: source.prompts,
      classes: input.classes,
      count: target,
      seed: input.generationSeed,
      ...(input.captionsManifestUri ? { captionsManifestUri: input.captionsManifestUri } : {}),
    }),
  ]);

  setStage('generate');
  const window = new Semaphore(input.maxConcurrentShards);
  const generatorLabel =
    generator.name === 'embedded-gmm' ? `${generator.name}@${model?.modelUri.split('/').slice(-2, -1)[0] ?? ''}` : `${generator.name}@${hostOf(generator.baseUrl)}`;
  const shards: ShardRecord[] = await Promise.all(
    Array.from({ length: shardsTotal }, (_, shard) =>
      window.run(async () => {
        await condition(() => !progress.paused);
        const firstIndex = shard * shardSize;
        const count = Math.min(shardSize, target - firstIndex);
        // A last, partial shard is named by its count, so a sweep with a larger N (whose shard
        // there is full) never takes it for its own, and neither overwrites the other.
        const name = `shard-${String(shard).padStart(6, '0')}${count < shardSize ? `-n${count}` : ''}.tar`;
        const out = await generate.generateShard({
          // Shard bytes name the content key, not the sweep's label, so other sweeps can share them.
          source: input.sourceKey.split('/').pop()!,
          shardKey: `${input.sourceKey}/${name}`,
          modelUri: model?.modelUri ?? '',
          promptsUri: prompts.promptsUri,
          firstIndex,
          count,
          cfgScale: source.cfgScale,
          steps: generatorSteps(generator),
          generationSeed: input.generationSeed,
          generatorLabel,
          // The embedded generator's shard input stays as it was (its model URI says it all).
          ...(model ? {} : { generator, classes: input.classes }),
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
      promptProvenance: prompts.provenance?.summary,
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
