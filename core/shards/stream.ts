// Reading a window of a source's samples (its first N, or N from an offset: a seed's window of a
// generated pool) for training without holding all N in memory: samples are gathered batch by
// batch from decoded shards kept in a per-process LRU cache bounded in bytes
// (SYNTHSCALE_SHARD_CACHE_MB, default 256). Together with the windowed shuffle (core/nn/shuffle.ts)
// a train worker's memory is bounded by the cache and the window, not by N; when a source's
// first N samples fit in the cache (the usual case: 256 MB holds ~330k 28x28 images) every shard
// is decoded once per process and shared by all of that source's cells.
import type { BlobStore } from '../storage.js';
import { decodePng, MAX_SAMPLE_PNG_BYTES } from '../png.js';
import { FASHION_MNIST_GEOMETRY, pixelsPerImage, sameGeometry, type ImageGeometry } from '../image/geometry.js';
import { ShardFormatError, UNLABELED, unpackShard } from './webdataset.js';
import { manifestGeometry, type ShardRecord, type SourceManifest } from './manifest.js';

export interface DecodedShard {
  /** samples * pixelsPerImage(geometry) bytes, HWC. */
  images: Uint8Array;
  labels: Uint8Array;
  /** Each sample's text: a synthetic sample's prompt, a real pair's caption, else null. */
  prompts: (string | null)[];
  /** Each sample's index in its source's full ordering. */
  indices: Uint32Array;
}

/** The text paired with a sample (CLIP): a synthetic sample's prompt, a real one's caption. */
export type SampleText = (sample: { label: number; index: number; prompt: string | null }) => string;

const DEFAULT_CACHE_MB = 256;
/** A shard tar is read whole; refuse anything larger before buffering it. */
export const MAX_SHARD_BYTES = 512 * 1024 * 1024;

export function shardCacheBudgetBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SYNTHSCALE_SHARD_CACHE_MB;
  if (raw === undefined || raw === '') return DEFAULT_CACHE_MB * 2 ** 20;
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb < 0) throw new Error(`SYNTHSCALE_SHARD_CACHE_MB must be a number of megabytes >= 0, got '${raw}'`);
  return mb * 2 ** 20;
}

/** LRU of decoded shards by byte size; loads in flight count once they resolve. */
export class DecodedShardCache {
  private readonly entries = new Map<string, { promise: Promise<DecodedShard>; bytes: number }>();
  private totalBytes = 0;
  loads = 0;

  constructor(private readonly budgetBytes: number) {}

  get bytes(): number {
    return this.totalBytes;
  }

  get(key: string, load: () => Promise<DecodedShard>): Promise<DecodedShard> {
    const hit = this.entries.get(key);
    if (hit) {
      // Most recently used goes last (Map keeps insertion order).
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.promise;
    }
    this.loads++;
    const entry = { promise: load(), bytes: 0 };
    this.entries.set(key, entry);
    entry.promise.then(
      (shard) => {
        if (this.entries.get(key) !== entry) return;
        entry.bytes = shard.images.byteLength + shard.labels.byteLength + shard.indices.byteLength + shard.prompts.reduce((n, p) => n + 2 * (p?.length ?? 0), 0);
        this.totalBytes += entry.bytes;
        this.evict();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.promise;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.totalBytes <= this.budgetBytes) return;
      if (entry.bytes === 0) continue; // still loading
      this.entries.delete(key);
      this.totalBytes -= entry.bytes;
    }
  }
}

let processCache: DecodedShardCache | null = null;
function sharedCache(): DecodedShardCache {
  processCache ??= new DecodedShardCache(shardCacheBudgetBytes());
  return processCache;
}

/**
 * Fetch (checksum-verified by the store), unpack and decode one shard at `geometry` (its
 * manifest's: manifestGeometry); labels checked. A PNG of another size or channel count is a
 * malformed shard.
 */
export async function decodeShard(store: BlobStore, record: ShardRecord, classCount: number, geometry: ImageGeometry = FASHION_MNIST_GEOMETRY): Promise<DecodedShard> {
  const bytes = await store.get(store.keyOf(record.uri), { maxBytes: MAX_SHARD_BYTES });
  // Colour and larger images may need more than the default 1 MiB per entry.
  const legacy = sameGeometry(geometry, FASHION_MNIST_GEOMETRY);
  const samples = await unpackShard(bytes, record.uri, legacy ? undefined : { maxSamples: 100_000, maxEntryBytes: MAX_SAMPLE_PNG_BYTES });
  if (samples.length !== record.samples) {
    throw new ShardFormatError(record.uri, undefined, `${samples.length} samples, manifest says ${record.samples}`);
  }
  const per = pixelsPerImage(geometry);
  const images = new Uint8Array(samples.length * per);
  const labels = new Uint8Array(samples.length);
  const indices = new Uint32Array(samples.length);
  const prompts: (string | null)[] = [];
  samples.forEach((sample, i) => {
    if (sample.meta.label >= classCount && sample.meta.label !== UNLABELED) throw new ShardFormatError(record.uri, sample.key, `label ${sample.meta.label} out of range`);
    images.set(decodePng(sample.png, geometry, `${record.uri} [${sample.key}]`), i * per);
    labels[i] = sample.meta.label;
    indices[i] = sample.meta.index;
    const text = sample.meta.prompt ?? sample.meta.caption;
    prompts.push(typeof text === 'string' ? text.slice(0, 4096) : null);
  });
  return { images, labels, prompts, indices };
}

/** Training data read batch by batch (see classifier.ts's TrainingData). */
export interface SampleStream {
  count: number;
  /** Geometry of every image gathered: pixelsPerImage(geometry) bytes per row. */
  geometry: ImageGeometry;
  /** Samples per shard, in manifest order: the unit of the windowed shuffle. */
  segments: number[];
  gather(indices: ArrayLike<number>, images: Uint8Array, labels: Uint8Array): Promise<void>;
  /** The texts of examples `indices` (see SampleText), in that order. */
  gatherTexts(indices: ArrayLike<number>, textOf: SampleText): Promise<string[]>;
}

/** The first `count` samples of a source as a stream over its shards. */
export function openFirstSamples(store: BlobStore, manifest: SourceManifest, count: number, cache?: DecodedShardCache): SampleStream {
  return openSamples(store, manifest, { count }, cache);
}

/** A cell's window of a source: samples [offset, offset + count) in manifest order (a seed's part of a generated pool). */
export interface SampleWindow {
  count: number;
  /** Default 0. */
  offset?: number;
}

/** Samples [offset, offset + count) of a source as a stream over its shards (example i is sample offset + i). */
export function openSamples(store: BlobStore, manifest: SourceManifest, window: SampleWindow, cache: DecodedShardCache = sharedCache()): SampleStream {
  const { count, offset = 0 } = window;
  if (!Number.isInteger(count) || count < 1) throw new Error(`sample count must be a positive integer, got ${count}`);
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`sample offset must be a non-negative integer, got ${offset}`);
  if (offset + count > manifest.totalSamples) {
    const asked = offset ? `samples [${offset}, ${offset + count})` : `${count}`;
    throw new Error(`source ${manifest.source} has ${manifest.totalSamples} samples, ${asked} requested`);
  }
  const records: ShardRecord[] = [];
  const segments: number[] = [];
  const starts: number[] = [];
  /** The first row of each record the window reads. */
  const firstRows: number[] = [];
  let skipped = 0;
  let taken = 0;
  for (const record of manifest.shards) {
    if (taken >= count) break;
    if (skipped + record.samples <= offset) {
      skipped += record.samples;
      continue;
    }
    const first = offset - skipped;
    skipped += first;
    const take = Math.min(record.samples - first, count - taken);
    records.push(record);
    segments.push(take);
    starts.push(taken);
    firstRows.push(first);
    taken += take;
  }
  const classCount = manifest.classes.length;
  const geometry = manifestGeometry(manifest);
  const per = pixelsPerImage(geometry);
  const shardOf = (index: number): number => {
    // Last segment whose start <= index.
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const load = (s: number) => {
    const record = records[s]!;
    return cache.get(`${record.uri}#${record.sha256}`, () => decodeShard(store, record, classCount, geometry));
  };
  /** For each asked example: its decoded shard and its row there. */
  const resolve = async (indices: ArrayLike<number>) => {
    const needed = new Map<number, Promise<DecodedShard>>();
    const shardIndex = new Uint32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i]!;
      if (!(index >= 0 && index < count)) throw new RangeError(`sample ${index} is out of range [0, ${count})`);
      const s = shardOf(index);
      shardIndex[i] = s;
      if (!needed.has(s)) needed.set(s, load(s));
    }
    const shards = new Map<number, DecodedShard>();
    await Promise.all([...needed].map(async ([s, p]) => shards.set(s, await p)));
    return Array.from(shardIndex, (s, i) => ({ shard: shards.get(s)!, local: indices[i]! - starts[s]! + firstRows[s]! }));
  };
  return {
    count,
    geometry,
    segments,
    async gather(indices, images, labels) {
      (await resolve(indices)).forEach(({ shard, local }, i) => {
        images.set(shard.images.subarray(local * per, (local + 1) * per), i * per);
        labels[i] = shard.labels[local]!;
      });
    },
    async gatherTexts(indices, textOf) {
      return (await resolve(indices)).map(({ shard, local }) =>
        textOf({ label: shard.labels[local]!, index: shard.indices[local]!, prompt: shard.prompts[local] ?? null }),
      );
    },
  };
}

export interface LabeledImages {
  /** count * pixelsPerImage(geometry) bytes. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  geometry: ImageGeometry;
}

/** Samples [offset, offset + count) of a source at its geometry, decoded into one array (training streams instead). */
export async function loadFirstSamples(store: BlobStore, manifest: SourceManifest, count: number, offset = 0): Promise<LabeledImages> {
  const stream = openSamples(store, manifest, { count, offset });
  const images = new Uint8Array(count * pixelsPerImage(stream.geometry));
  const labels = new Uint8Array(count);
  await stream.gather(Uint32Array.from({ length: count }, (_, i) => i), images, labels);
  return { images, labels, count, geometry: stream.geometry };
}

export { concatStreams } from './concat-streams.js';
