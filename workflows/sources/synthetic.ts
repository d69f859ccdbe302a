// A synthetic source: fit the generator (when its kind is fitted) beside prompt synthesis, generate
// the shards in a sliding window, then write the manifest over them.
import { ApplicationFailure, condition } from '@temporalio/workflow';
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { generatorKind, isFittedGenerator } from '../../contracts/generators.js';
import { manifestKey, shardFileName, sourceContentName } from '../../contracts/keys.js';
import { describeSource } from '../../contracts/sources.js';
import type { SyntheticSourceSpec } from '../../contracts/spec/sweep.js';
import type { ShardRecord } from '../../contracts/sweep.js';
import { cpu, fit, generate } from '../proxies.js';
import { Semaphore } from '../semaphore.js';
import type { SourceHandler, SourceRun } from './context.js';
import { describeGenerator } from '../../contracts/generators.js';
import { summary } from '../labels.js';

type GenerateShardOutput = Awaited<ReturnType<typeof generate.generateShard>>;

export const syntheticSource: SourceHandler<SyntheticSourceSpec> = async (run) => {
  const { input, source, progress, stats } = run;
  const sourceKey = requireSourceKey(run);
  const generator = source.generator;
  run.setStage(isFittedGenerator(generator) ? 'fit-generator' : 'prompts');
  // A fitted kind's model is fitted beside prompt synthesis; a remote generator is a running server.
  const [model, prompts] = await Promise.all([
    isFittedGenerator(generator)
      ? fit.fitGenerator.executeWithOptions(summary(`fit generator · ${source.name} · ${describeGenerator(generator)}`), [
          { generator, classes: input.classes, datasetFingerprint: input.datasetFingerprint },
        ])
      : Promise.resolve(null),
    cpu.synthesizePrompts.executeWithOptions(summary(`prompts · ${source.name} · ${source.prompts.strategy} · ${run.target} prompts`), [{
      prompts: source.prompts,
      classes: input.classes,
      ...(input.wnids ? { wnids: input.wnids } : {}),
      count: run.target,
      seed: input.generationSeed,
      ...(input.captionsManifestUri ? { captionsManifestUri: input.captionsManifestUri } : {}),
    }]),
  ]);

  run.setStage('generate');
  const shards = await generateShards(run, model?.modelUri, prompts.promptsUri);

  run.setStage('manifest');
  const manifest = await cpu.writeSourceManifest.executeWithOptions(summary(`manifest · ${source.name} · ${shards.length} shards · ${run.target} images`), [{
    // Content, not the sweep's label: sweeps that share this source share its manifest and cells.
    source: sourceContentName(sourceKey),
    kind: 'synthetic',
    description: describeSource(source),
    classes: input.classes,
    datasetFingerprint: input.datasetFingerprint,
    manifestKey: manifestKey(sourceKey, run.target),
    shards,
    requiredSamples: input.count,
  }]);
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
      ...(model ? { generatorRealImages: model.realImages } : {}),
      generationSeconds: (Date.now() - run.started) / 1000,
    },
    stats,
  };
};

/** Every shard of the source, at most maxConcurrentShards at a time; pause holds back new ones. */
function generateShards(run: SourceRun<SyntheticSourceSpec>, modelUri: string | undefined, promptsUri: string): Promise<ShardRecord[]> {
  const { input, source, progress } = run;
  const { shardSize } = input;
  const generator = source.generator;
  const kind = generatorKind(generator);
  const sourceKey = requireSourceKey(run);
  const window = new Semaphore(input.maxConcurrentShards);
  const generatorLabel = kind.label(generator, modelUri);
  return Promise.all(
    Array.from({ length: run.shardsTotal }, (_, shard) =>
      window.run(async () => {
        await condition(() => !progress.paused);
        const firstIndex = shard * shardSize;
        const count = Math.min(shardSize, run.target - firstIndex);
        const shardInput = {
          // Shard bytes name the content key, not the sweep's label, so other sweeps can share them.
          source: sourceContentName(sourceKey),
          shardKey: `${sourceKey}/${shardFileName(shard, count, shardSize)}`,
          modelUri: modelUri ?? '',
          promptsUri,
          firstIndex,
          count,
          cfgScale: source.cfgScale,
          steps: kind.steps(generator),
          generationSeed: input.generationSeed,
          generatorLabel,
          // A Gaussian-mixture shard input stays as it was (its model URI says it all); other
          // kinds carry their spec, so the shard opens the model with its own backend.
          ...(modelUri !== undefined && generator.name === 'embedded-gmm' ? {} : { generator, classes: input.classes, datasetFingerprint: input.datasetFingerprint }),
        };
        const label = `generate · ${source.name} · shard ${shard + 1} of ${run.shardsTotal} · images ${firstIndex}–${firstIndex + count - 1} · CFG ${source.cfgScale}`;
        const out = await generate.generateShard.executeWithOptions(summary(label), [shardInput]);
        countShard(run, out);
        await run.reportProgress();
        return { uri: out.uri, sha256: out.sha256, bytes: out.bytes, samples: out.samples, firstIndex: out.firstIndex, failedItems: out.failedItems };
      }),
    ),
  );
}

function countShard({ progress, stats }: SourceRun, out: GenerateShardOutput): void {
  progress.shardsDone++;
  progress.imagesDone += out.samples;
  stats.imagesSampled += out.imagesSampled;
  stats.activityRetries += out.attempt - 1;
  stats.itemRetries += out.itemRetries;
  stats.storageRetries += out.storageRetries;
  stats.failedItems += out.failedItems.length;
  if (out.cached) stats.shardsCached++;
  if (out.corruptRegenerated) stats.corruptRegenerated++;
}

/** The plan keys every synthetic source; a missing key is a bug in the caller, not bad input. */
function requireSourceKey(run: SourceRun<SyntheticSourceSpec>): string {
  if (run.input.sourceKey === undefined) throw ApplicationFailure.nonRetryable(`synthetic source '${run.source.name}' has no sourceKey in its input`, FAILURE_TYPES.invalidInput);
  return run.input.sourceKey;
}
