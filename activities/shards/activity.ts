// Sharding stage: real images into WebDataset shards, and a manifest over a source's shards.
import { heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { loadDatasetSplit, type ActivityDeps } from '../../core/activity-deps.js';
import { realOrder, writeDrawnShards, writeSeedManifests } from '../../core/datasets/real-draws.js';
import { inputHash } from '../../core/hash.js';
import { geometryField, MANIFEST_FORMAT, type ShardRecord, type SourceManifest } from '../../core/shards/manifest.js';
import { sourceDataset } from '../../core/shards/source-dataset.js';
import { hasValidObject, sha256 } from '../../core/storage.js';
export { balancedOrder } from '../../core/datasets/balanced-order.js';

/** 2: drawn from the real pool only (core/datasets/splits.ts), one manifest per seed. */
export const REAL_SHARDS_CODE_VERSION = 'real-shards-2';

export interface WriteRealShardsInput {
  source: string;
  count: number;
  shardSize: number;
  /** The draw seed without `seeds` (seedDraws 'init'). */
  seed: number;
  /** seedDraws 'data': one draw, and manifest, per seed. */
  seeds?: number[];
  datasetFingerprint: string;
}

export interface ManifestOutput {
  manifestUri: string;
  totalSamples: number;
  failedItems: number;
  cached: boolean;
}

export interface RealShardsOutput extends ManifestOutput {
  /** Seed -> manifest URI, when seeds were given (`manifestUri` is the first seed's). */
  seedManifests?: Record<string, string>;
}

export interface WriteSourceManifestInput {
  source: string;
  kind: 'real' | 'synthetic';
  description: string;
  classes: string[];
  manifestKey: string;
  shards: ShardRecord[];
  /** The sweep's largest N: fewer usable samples than this means the failure budget is spent. */
  requiredSamples: number;
  /** The sweep's dataset: the shards' geometry is its (recorded in the manifest); absent: 28x28 grey. */
  datasetFingerprint?: string;
}

/**
 * Real images from the real pool as shards under a content-addressed source key, with a manifest
 * for `count` per draw seed (core/datasets/real-draws.ts): one per seed of `seeds`, else one drawn
 * with `seed`. Images at the dataset's geometry, labelled with its classes.
 */
async function writeRealShards(deps: ActivityDeps, input: WriteRealShardsInput): Promise<RealShardsOutput> {
  const dataset = await sourceDataset(deps, input.datasetFingerprint);
  const out = await writeSeedManifests(input.seeds, input.seed, (seed) =>
    writeDrawnShards({
      store: deps.store,
      sourceKey: `sources/real-${inputHash('real-source', REAL_SHARDS_CODE_VERSION, { dataset: input.datasetFingerprint, seed, shardSize: input.shardSize })}`,
      count: input.count,
      shardSize: input.shardSize,
      manifest: {
        source: input.source,
        kind: 'real',
        description: `real ${dataset.title} training images from the real pool (class-balanced order)`,
        classes: dataset.classes,
      },
      async load() {
        const train = await loadDatasetSplit(deps, input.datasetFingerprint, 'train');
        return { train, order: realOrder(train, input.datasetFingerprint, dataset.classes.length, seed) };
      },
      onShard: (shardsDone) => heartbeat({ seed, shardsDone }),
    }),
  );
  return { ...out, failedItems: 0 };
}

/** A source's manifest over shards written elsewhere; refused when failed items leave too few samples. */
async function writeSourceManifest(deps: ActivityDeps, input: WriteSourceManifestInput): Promise<ManifestOutput> {
  const { geometry } = await sourceDataset(deps, input.datasetFingerprint);
  const manifest: SourceManifest = {
    format: MANIFEST_FORMAT,
    source: input.source,
    kind: input.kind,
    description: input.description,
    classes: input.classes,
    ...geometryField(geometry),
    totalSamples: input.shards.reduce((n, s) => n + s.samples, 0),
    shards: input.shards,
  };
  const failed = input.shards.reduce((n, s) => n + s.failedItems.length, 0);
  if (manifest.totalSamples < input.requiredSamples) {
    const examples = input.shards.flatMap((s) => s.failedItems).slice(0, 3).map((f) => `#${f.index}: ${f.reason}`);
    throw ApplicationFailure.nonRetryable(
      `source ${input.source}: ${failed} items failed for good, leaving ${manifest.totalSamples} of the ${input.requiredSamples} images the sweep needs ` +
        `(e.g. ${examples.join('; ')}). Fix the generator, or raise generation.failureBudget in the spec.`,
      FAILURE_TYPES.failureBudgetExceeded,
    );
  }
  const bytes = new TextEncoder().encode(JSON.stringify(manifest, null, 1));
  const existing = await deps.store.head(input.manifestKey);
  // A rerun produces the same manifest: skip the write when the stored one is identical.
  const manifestUri =
    existing && existing.sha256 === sha256(bytes) && (await hasValidObject(deps.store, input.manifestKey))
      ? deps.store.uri(input.manifestKey)
      : (await deps.store.put(input.manifestKey, bytes)).uri;
  return {
    manifestUri,
    totalSamples: manifest.totalSamples,
    failedItems: input.shards.reduce((n, s) => n + s.failedItems.length, 0),
    cached: false,
  };
}

export function createShardActivities(deps: ActivityDeps) {
  return {
    async writeRealShards(input: WriteRealShardsInput): Promise<RealShardsOutput> {
      return writeRealShards(deps, input);
    },
    async writeSourceManifest(input: WriteSourceManifestInput): Promise<ManifestOutput> {
      return writeSourceManifest(deps, input);
    },
  };
}
