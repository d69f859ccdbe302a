// "Seed s's real images", the one definition the real source (activities/shards) and the control
// source (activities/generate) share: a class-balanced order of the real pool (./splits.ts) seeded
// by s, written as content-addressed shards with one manifest per seed. A cell of size N reads the
// first N, so draws are nested across N within a seed.
import { encodePng } from '../png.js';
import { pixelsPerImage, sameGeometry, FASHION_MNIST_GEOMETRY } from '../image/geometry.js';
import { MANIFEST_FORMAT, readManifest, writeManifest, type ShardRecord, type SourceManifest } from '../shards/manifest.js';
import { packShard, sampleKey, shardName, type ShardSample } from '../shards/webdataset.js';
import { hasValidObject, type BlobStore } from '../storage.js';
import { balancedOrder } from './balanced-order.js';
import type { ImageSet } from './image-set.js';
import { trainPools } from './splits.js';

/** Training-split rows of the real pool in seed `seed`'s class-balanced order (every prefix is balanced). */
export function realOrder(train: Pick<ImageSet, 'labels' | 'count'>, fingerprint: string, classCount: number, seed: number): number[] {
  const { realPool } = trainPools(fingerprint, train.count);
  const poolLabels = Uint8Array.from(realPool, (row) => train.labels[row]!);
  return balancedOrder(poolLabels, classCount, seed).map((position) => realPool[position]!);
}

/** Seed `seed`'s first `count` real images (training-split rows). */
export function realDraw(train: Pick<ImageSet, 'labels' | 'count'>, fingerprint: string, classCount: number, seed: number, count: number): number[] {
  const order = realOrder(train, fingerprint, classCount, seed);
  if (count > order.length) throw new Error(`the real pool has ${order.length} images, ${count} requested`);
  return order.slice(0, count);
}

/** The seeds that get their own draw: each of `seeds` (seedDraws 'data'), else the generation seed alone. */
export function drawSeeds(seeds: readonly number[] | undefined, generationSeed: number): number[] {
  return seeds && seeds.length > 0 ? [...new Set(seeds)] : [generationSeed];
}

export interface DrawnManifest {
  manifestUri: string;
  totalSamples: number;
  cached: boolean;
}

export interface SeedManifests extends DrawnManifest {
  /** Seed -> manifest URI, when seeds were given. */
  seedManifests?: Record<string, string>;
}

/** One manifest per draw seed; `manifestUri` is the first seed's (the only one without seeds). */
export async function writeSeedManifests(
  seeds: readonly number[] | undefined,
  generationSeed: number,
  writeOne: (seed: number) => Promise<DrawnManifest>,
): Promise<SeedManifests> {
  const written: [number, DrawnManifest][] = [];
  for (const seed of drawSeeds(seeds, generationSeed)) written.push([seed, await writeOne(seed)]);
  const first = written[0]![1];
  return {
    manifestUri: first.manifestUri,
    totalSamples: first.totalSamples,
    cached: written.every(([, out]) => out.cached),
    ...(seeds && seeds.length > 0 ? { seedManifests: Object.fromEntries(written.map(([seed, out]) => [String(seed), out.manifestUri])) } : {}),
  };
}

export interface DrawnShardsSpec {
  store: BlobStore;
  /** Content-addressed prefix: shards at `${sourceKey}/shard-*.tar`, the manifest at `${sourceKey}/manifest-n${count}.json`. */
  sourceKey: string;
  count: number;
  shardSize: number;
  manifest: Pick<SourceManifest, 'source' | 'kind' | 'description' | 'classes'>;
  /** The images in draw order; called only when something must be written. */
  load(): Promise<{ train: ImageSet; order: readonly number[] }>;
  /** The bytes written for training row `row` (default: its image as it is). */
  pixels?: (image: Uint8Array, row: number) => Uint8Array;
  onShard?: (shardsDone: number) => void;
}

/** A draw's shards and its manifest for `count`; a valid stored manifest (or shard) is reused. */
export async function writeDrawnShards(spec: DrawnShardsSpec): Promise<DrawnManifest> {
  const { store, sourceKey, count, shardSize } = spec;
  const manifestKey = `${sourceKey}/manifest-n${count}.json`;
  if (await hasValidObject(store, manifestKey)) {
    const manifest = await readManifest(store, store.uri(manifestKey));
    return { manifestUri: store.uri(manifestKey), totalSamples: manifest.totalSamples, cached: true };
  }
  const { train, order } = await spec.load();
  if (count > order.length) throw new Error(`${spec.manifest.source}: the real pool has ${order.length} images, ${count} requested`);
  const shards: ShardRecord[] = [];
  const { geometry } = train;
  const per = pixelsPerImage(geometry);
  for (let shard = 0, first = 0; first < count; shard++, first += shardSize) {
    // Shards hold a full shardSize even past `count`, so a later sweep with larger N reuses them.
    const fullEnd = Math.min(first + shardSize, order.length);
    const key = `${sourceKey}/${shardName(shard)}`;
    let head = (await hasValidObject(store, key)) ? await store.head(key) : null;
    if (!head) {
      const samples: ShardSample[] = [];
      for (let index = first; index < fullEnd; index++) {
        const row = order[index]!;
        const label = train.labels[row]!;
        const image = train.images.subarray(row * per, (row + 1) * per);
        samples.push({
          key: sampleKey(index),
          png: encodePng(spec.pixels ? spec.pixels(image, row) : image, geometry),
          meta: { label, className: spec.manifest.classes[label]!, source: spec.manifest.source, index },
        });
      }
      head = await store.put(key, await packShard(samples));
      spec.onShard?.(shard + 1);
    }
    shards.push({ uri: store.uri(key), sha256: head.sha256, bytes: head.size, samples: fullEnd - first, firstIndex: first, failedItems: [] });
  }
  // 28x28 grey manifests carry no geometry field: their bytes (and keys) are as before geometries.
  const shape = sameGeometry(geometry, FASHION_MNIST_GEOMETRY) ? {} : { geometry };
  const manifest: SourceManifest = { format: MANIFEST_FORMAT, ...spec.manifest, ...shape, totalSamples: shards.reduce((n, s) => n + s.samples, 0), shards };
  return { manifestUri: await writeManifest(store, manifestKey, manifest), totalSamples: manifest.totalSamples, cached: false };
}
