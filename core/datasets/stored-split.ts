// Decoding an imported dataset's split from its shards in the store (every image at the
// descriptor's geometry; the import already resized and converted it). Shards are verified by the
// store's checksums and parsed as untrusted input like any shard.
import { decodePng, MAX_SAMPLE_PNG_BYTES } from '../png.js';
import { pixelsPerImage } from '../image/geometry.js';
import { MAX_SHARD_BYTES } from '../shards/stream.js';
import { ShardFormatError, unpackShard } from '../shards/webdataset.js';
import type { BlobStore } from '../storage.js';
import type { DatasetDescriptor } from './descriptor.js';
import type { ImageSet } from './image-set.js';

export class UnknownSplitError extends Error {
  readonly code = 'E_UNKNOWN_SPLIT';
}

export async function loadStoredSplit(store: BlobStore, descriptor: DatasetDescriptor, split: string): Promise<ImageSet> {
  const described = descriptor.splits[split];
  if (!described?.shards) {
    throw new UnknownSplitError(`dataset '${descriptor.title}' has no split '${split}' (its splits: ${Object.keys(descriptor.splits).join(', ')})`);
  }
  const { geometry } = descriptor;
  const per = pixelsPerImage(geometry);
  const images = new Uint8Array(described.count * per);
  const labels = new Uint8Array(described.count);
  let row = 0;
  for (const record of described.shards) {
    const bytes = await store.get(store.keyOf(record.uri), { maxBytes: MAX_SHARD_BYTES });
    const samples = await unpackShard(bytes, record.uri, { maxSamples: 1_000_000, maxEntryBytes: MAX_SAMPLE_PNG_BYTES });
    if (samples.length !== record.samples) throw new ShardFormatError(record.uri, undefined, `${samples.length} samples, the descriptor says ${record.samples}`);
    for (const sample of samples) {
      if (sample.meta.label >= descriptor.classes.length) throw new ShardFormatError(record.uri, sample.key, `label ${sample.meta.label} out of range`);
      images.set(decodePng(sample.png, geometry, `${record.uri} [${sample.key}]`), row * per);
      labels[row++] = sample.meta.label;
    }
  }
  return { images, labels, count: described.count, geometry };
}
