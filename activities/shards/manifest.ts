// A source's manifest: its shards in order with counts and checksums. Training on N images
// takes the first N samples in manifest order (nested subsets, as in the paper).
import { getJson, type BlobStore } from '../../core/storage.js';
import { decodeGrayPng } from '../../core/png.js';
import { IMAGE_SIDE, IMAGE_PIXELS } from '../../core/fashion-mnist.js';
import { ShardFormatError, unpackShard } from './webdataset.js';
import { memoizePromise } from '../../core/memo.js';

export const MANIFEST_FORMAT = 'synthscale-manifest-1';

export interface ShardRecord {
  uri: string;
  sha256: string;
  bytes: number;
  /** Samples in the shard (fewer than requested if items failed). */
  samples: number;
  firstIndex: number;
  failedItems: { index: number; reason: string }[];
}

export interface SourceManifest {
  format: typeof MANIFEST_FORMAT;
  source: string;
  kind: 'real' | 'synthetic';
  description: string;
  classes: string[];
  totalSamples: number;
  shards: ShardRecord[];
}

export function validateManifest(value: unknown, where: string): SourceManifest {
  const m = value as Partial<SourceManifest> | null;
  if (!m || m.format !== MANIFEST_FORMAT || !Array.isArray(m.shards) || !Array.isArray(m.classes)) {
    throw new Error(`${where}: not a ${MANIFEST_FORMAT} manifest`);
  }
  let total = 0;
  for (const shard of m.shards) {
    if (typeof shard.uri !== 'string' || !/^[0-9a-f]{64}$/.test(shard.sha256) || !Number.isInteger(shard.samples)) {
      throw new Error(`${where}: malformed shard record`);
    }
    total += shard.samples;
  }
  if (total !== m.totalSamples) throw new Error(`${where}: totalSamples ${m.totalSamples} but shards hold ${total}`);
  return m as SourceManifest;
}

export async function readManifest(store: BlobStore, uri: string): Promise<SourceManifest> {
  return validateManifest(await getJson(store, store.keyOf(uri)), uri);
}

export async function writeManifest(store: BlobStore, key: string, manifest: SourceManifest): Promise<string> {
  return (await store.put(key, new TextEncoder().encode(JSON.stringify(manifest, null, 1)))).uri;
}

export interface LabeledImages {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** Decoded shards, memoized per process: the cells of one source share them. */
const shardCache = new Map<string, Promise<{ images: Uint8Array; labels: Uint8Array }>>();
const SHARD_CACHE_LIMIT = 64;

async function decodeShard(store: BlobStore, record: ShardRecord, classCount: number) {
  return memoizePromise(shardCache, `${record.uri}#${record.sha256}`, async () => {
      const bytes = await store.get(store.keyOf(record.uri), { maxBytes: 512 * 1024 * 1024 });
      const samples = await unpackShard(bytes, record.uri);
      if (samples.length !== record.samples) {
        throw new ShardFormatError(record.uri, undefined, `${samples.length} samples, manifest says ${record.samples}`);
      }
      const images = new Uint8Array(samples.length * IMAGE_PIXELS);
      const labels = new Uint8Array(samples.length);
      samples.forEach((sample, i) => {
        if (sample.meta.label >= classCount) throw new ShardFormatError(record.uri, sample.key, `label ${sample.meta.label} out of range`);
        images.set(decodeGrayPng(sample.png, IMAGE_SIDE, IMAGE_SIDE, `${record.uri} [${sample.key}]`), i * IMAGE_PIXELS);
        labels[i] = sample.meta.label;
      });
      return { images, labels };
  }, SHARD_CACHE_LIMIT);
}

/** The first `count` samples of a source, decoded. */
export async function loadFirstSamples(store: BlobStore, manifest: SourceManifest, count: number): Promise<LabeledImages> {
  if (count > manifest.totalSamples) {
    throw new Error(`source ${manifest.source} has ${manifest.totalSamples} samples, ${count} requested`);
  }
  const images = new Uint8Array(count * IMAGE_PIXELS);
  const labels = new Uint8Array(count);
  let filled = 0;
  for (const record of manifest.shards) {
    if (filled >= count) break;
    const shard = await decodeShard(store, record, manifest.classes.length);
    const take = Math.min(record.samples, count - filled);
    images.set(shard.images.subarray(0, take * IMAGE_PIXELS), filled * IMAGE_PIXELS);
    labels.set(shard.labels.subarray(0, take), filled);
    filled += take;
  }
  return { images, labels, count };
}
