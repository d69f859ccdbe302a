// Sharding stage: real images into WebDataset shards, and a manifest over a source's shards.
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { heartbeat } from '@temporalio/activity';
import { FASHION_MNIST_CLASSES, IMAGE_PIXELS, IMAGE_SIDE } from '../../core/datasets/fashion-mnist.js';
import { inputHash } from '../../core/hash.js';
import { encodeGrayPng } from '../../core/png.js';
import { ApplicationFailure } from '@temporalio/common';
import { hasValidObject, sha256 } from '../../core/storage.js';
import { loadDatasetSplit, type ActivityDeps } from '../../core/activity-deps.js';
import { MANIFEST_FORMAT, readManifest, writeManifest, type ShardRecord, type SourceManifest } from '../../core/shards/manifest.js';
import { packShard, sampleKey, shardName, type ShardSample } from '../../core/shards/webdataset.js';
export { balancedOrder } from '../../core/datasets/balanced-order.js';
import { balancedOrder } from '../../core/datasets/balanced-order.js';

export const REAL_SHARDS_CODE_VERSION = 'real-shards-1';

export interface WriteRealShardsInput {
  source: string;
  count: number;
  shardSize: number;
  seed: number;
  datasetFingerprint: string;
}

export interface ManifestOutput {
  manifestUri: string;
  totalSamples: number;
  failedItems: number;
  cached: boolean;
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
}

/** Real training images in class-balanced order as shards under a content-addressed source key, and its manifest for `count`. */
async function writeRealShards(deps: ActivityDeps, input: WriteRealShardsInput): Promise<ManifestOutput> {
  const { count, shardSize } = input;
  const sourceKey = `sources/real-${inputHash('real-source', REAL_SHARDS_CODE_VERSION, {
    dataset: input.datasetFingerprint,
    seed: input.seed,
    shardSize,
  })}`;
  const manifestKey = `${sourceKey}/manifest-n${count}.json`;
  if (await hasValidObject(deps.store, manifestKey)) {
    const manifest = await readManifest(deps.store, deps.store.uri(manifestKey));
    return { manifestUri: deps.store.uri(manifestKey), totalSamples: manifest.totalSamples, failedItems: 0, cached: true };
  }
  const train = await loadDatasetSplit(deps, 'train');
  if (count > train.count) throw new Error(`real source has ${train.count} training images, ${count} requested`);
  const order = balancedOrder(train.labels, FASHION_MNIST_CLASSES.length, input.seed);
  const shards: ShardRecord[] = [];
  for (let shard = 0, first = 0; first < count; shard++, first += shardSize) {
    // Shards hold a full shardSize even past `count`, so a later sweep with larger N reuses them.
    const fullEnd = Math.min(first + shardSize, train.count);
    const key = `${sourceKey}/${shardName(shard)}`;
    let head = (await hasValidObject(deps.store, key)) ? await deps.store.head(key) : null;
    if (!head) {
      const samples: ShardSample[] = [];
      for (let index = first; index < fullEnd; index++) {
        const row = order[index]!;
        const label = train.labels[row]!;
        samples.push({
          key: sampleKey(index),
          png: encodeGrayPng(train.images.subarray(row * IMAGE_PIXELS, (row + 1) * IMAGE_PIXELS), IMAGE_SIDE, IMAGE_SIDE),
          meta: { label, className: FASHION_MNIST_CLASSES[label]!, source: input.source, index },
        });
      }
      head = await deps.store.put(key, await packShard(samples));
      heartbeat({ shardsDone: shard + 1 });
    }
    shards.push({ uri: deps.store.uri(key), sha256: head.sha256, bytes: head.size, samples: fullEnd - first, firstIndex: first, failedItems: [] });
  }
  const manifest: SourceManifest = {
    format: MANIFEST_FORMAT,
    source: input.source,
    kind: 'real',
    description: 'real Fashion-MNIST training images (class-balanced order)',
    classes: [...FASHION_MNIST_CLASSES],
    totalSamples: shards.reduce((n, s) => n + s.samples, 0),
    shards,
  };
  const manifestUri = await writeManifest(deps.store, manifestKey, manifest);
  return { manifestUri, totalSamples: manifest.totalSamples, failedItems: 0, cached: false };
}

/** A source's manifest over shards written elsewhere; refused when failed items leave too few samples. */
async function writeSourceManifest(deps: ActivityDeps, input: WriteSourceManifestInput): Promise<ManifestOutput> {
  const manifest: SourceManifest = {
    format: MANIFEST_FORMAT,
    source: input.source,
    kind: input.kind,
    description: input.description,
    classes: input.classes,
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
    async writeRealShards(input: WriteRealShardsInput): Promise<ManifestOutput> {
      return writeRealShards(deps, input);
    },
    async writeSourceManifest(input: WriteSourceManifestInput): Promise<ManifestOutput> {
      return writeSourceManifest(deps, input);
    },
  };
}
