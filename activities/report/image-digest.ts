// What identifies a source's images: a digest of its samples' PNG bytes and labels, in manifest
// order. Shard checksums cannot tell: a shard also holds each sample's prompt text and source
// name, so two sources whose generator ignores the prompt write the same images into shards with
// different checksums. The report groups sources with equal digests (layout.ts) and shows them once.
import { createHash } from 'node:crypto';
import type { SourceSummary } from '../../contracts/types.js';
import { MAX_SAMPLE_PNG_BYTES } from '../../core/png.js';
import { readManifest } from '../../core/shards/manifest.js';
import { MAX_SHARD_BYTES } from '../../core/shards/stream.js';
import { unpackShard } from '../../core/shards/webdataset.js';
import type { BlobStore } from '../../core/storage.js';

export interface ImageDigestOptions {
  /** Samples hashed per source at most (the first ones, in manifest order); a larger source is digested over its first this many. */
  maxSamples?: number;
  /** Called before each source is read (the activity heartbeats). */
  onSource?: (source: string) => void;
}

/** A digest of one source's first `maxSamples` images (sha256 over each sample's label and PNG bytes, and the count). */
export async function sourceImageDigest(store: BlobStore, manifestUri: string, maxSamples: number): Promise<string> {
  const manifest = await readManifest(store, manifestUri);
  const hash = createHash('sha256');
  let count = 0;
  for (const record of manifest.shards) {
    if (count >= maxSamples) break;
    if (record.samples === 0) continue;
    const bytes = await store.get(store.keyOf(record.uri), { maxBytes: MAX_SHARD_BYTES });
    const samples = await unpackShard(bytes, record.uri, { maxSamples: 100_000, maxEntryBytes: MAX_SAMPLE_PNG_BYTES });
    for (const sample of samples) {
      if (count >= maxSamples) break;
      const png = createHash('sha256').update(sample.png).digest('hex');
      hash.update(`${sample.meta.label}:${png}\n`);
      count++;
    }
  }
  hash.update(`count:${count}|classes:${JSON.stringify(manifest.classes)}`);
  return hash.digest('hex');
}

/**
 * Digests of the synthetic and control sources' images (real sources and mixes are never grouped),
 * by source name; a source whose shards cannot be read has none, and a problem line says why.
 */
export async function sourceImageDigests(
  store: BlobStore,
  sources: readonly SourceSummary[],
  options: ImageDigestOptions = {},
): Promise<{ digests: Record<string, string>; problems: string[] }> {
  const { maxSamples = 50_000 } = options;
  const digests: Record<string, string> = {};
  const problems: string[] = [];
  const byManifest = new Map<string, string>();
  for (const source of sources) {
    if (source.kind !== 'synthetic' && source.kind !== 'control') continue;
    options.onSource?.(source.name);
    try {
      const known = byManifest.get(source.manifestUri);
      digests[source.name] = known ?? (await sourceImageDigest(store, source.manifestUri, maxSamples));
      byManifest.set(source.manifestUri, digests[source.name]!);
    } catch (err) {
      problems.push(`${source.name}: images not compared (${(err as Error).message})`);
    }
  }
  return { digests, problems };
}
