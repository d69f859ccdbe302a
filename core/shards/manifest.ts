// A source's manifest: its shards in order with counts and checksums. Training on N images
// takes the first N samples in manifest order (nested subsets, as in the paper; stream.ts reads them).
import { getJson, type BlobStore } from '../storage.js';
import { checkGeometry, FASHION_MNIST_GEOMETRY, sameGeometry, type ImageGeometry } from '../image/geometry.js';

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
  kind: 'real' | 'synthetic' | 'real-pairs';
  description: string;
  classes: string[];
  /** Geometry of every image in the shards; absent: 28x28 grey (manifests from before geometries). */
  geometry?: ImageGeometry;
  totalSamples: number;
  shards: ShardRecord[];
  /** real-pairs: where each sample's class came from (activities/shards/import-pairs.ts). */
  labels?: { metadata: number; caption: number; unlabeled: number };
  /** real-pairs: the img2dataset shards read, with their sha256. */
  inputs?: { uri: string; sha256: string; bytes: number; samples: number; used: number; emptyCaptions: number; skippedEntries: Record<string, number> }[];
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
  if (m.geometry !== undefined) checkGeometry(m.geometry, `${where} geometry`);
  return m as SourceManifest;
}

/** The geometry of a manifest's images (absent: 28x28 grey, manifests from before geometries). */
export function manifestGeometry(manifest: Pick<SourceManifest, 'geometry'>): ImageGeometry {
  return manifest.geometry ?? FASHION_MNIST_GEOMETRY;
}

/**
 * The manifest field for images of `geometry`: none at 28x28 grey, so manifests (and the keys of
 * everything hashed from them) stay byte-identical to those written before geometries.
 */
export function geometryField(geometry: ImageGeometry | undefined): { geometry?: ImageGeometry } {
  return geometry === undefined || sameGeometry(geometry, FASHION_MNIST_GEOMETRY) ? {} : { geometry: { size: geometry.size, channels: geometry.channels } };
}

export async function readManifest(store: BlobStore, uri: string): Promise<SourceManifest> {
  return validateManifest(await getJson(store, store.keyOf(uri)), uri);
}

export async function writeManifest(store: BlobStore, key: string, manifest: SourceManifest): Promise<string> {
  return (await store.put(key, new TextEncoder().encode(JSON.stringify(manifest, null, 1)))).uri;
}
