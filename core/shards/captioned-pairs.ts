// Pair shards built from a labelled image set with one caption per image (Fashion-MNIST +
// captioner.ts): PNGs at the set's geometry (grey or RGB) keyed by global index, with
// img2dataset-style metadata, packed as pairs.ts packs any pair shard, so the embedded pairs are
// read by the same code as a lab's own.
import { FASHION_MNIST_GEOMETRY, pixelsPerImage, type ImageGeometry } from '../image/geometry.js';
import { encodePng } from '../png.js';
import { normalizeCaption, packPairShard, type PairSampleInput } from './pairs.js';
import { sampleKey, shardName } from './webdataset.js';

/** Images with labels and one caption each (e.g. Fashion-MNIST + captioner.ts). */
export interface CaptionedImages {
  /** count x pixelsPerImage(geometry) bytes, row-major HWC. */
  images: Uint8Array;
  /** Default 28x28 grey. */
  geometry?: ImageGeometry;
  labels: Uint8Array;
  /** Caption of image i, by array or by function. */
  captions: readonly string[] | ((index: number, label: number) => string);
  classes: readonly string[];
  /** Source name in each sample's metadata, e.g. "fashion-mnist-train". */
  source: string;
}

export interface BuiltPairShard {
  shardIndex: number;
  /** shard-000000.tar, as the image shards are named. */
  name: string;
  firstIndex: number;
  samples: number;
  bytes: Uint8Array;
}

export function pairShardCount(count: number, shardSize: number): number {
  return Math.ceil(count / shardSize);
}

/**
 * Pair shard `shardIndex` of a captioned image set: images firstIndex.. as grey PNGs, keyed by
 * global index (sampleKey: 9 zero-padded digits, which for 10,000 samples per shard is exactly
 * img2dataset's key, 5-digit shard id + 4-digit index), with img2dataset-style metadata.
 */
export async function captionedPairShard(data: CaptionedImages, shardIndex: number, shardSize: number): Promise<BuiltPairShard> {
  const count = data.labels.length;
  const geometry = data.geometry ?? FASHION_MNIST_GEOMETRY;
  const per = pixelsPerImage(geometry);
  if (data.images.length !== count * per) throw new Error(`${data.images.length} image bytes for ${count} labels (want ${per} each)`);
  if (typeof data.captions !== 'function' && data.captions.length !== count) throw new Error(`${data.captions.length} captions for ${count} images`);
  if (!Number.isInteger(shardSize) || shardSize < 1) throw new Error(`shard size must be a positive integer, not ${shardSize}`);
  if (!Number.isInteger(shardIndex) || shardIndex < 0 || shardIndex >= pairShardCount(count, shardSize)) {
    throw new Error(`shard ${shardIndex} is out of range: ${count} images make ${pairShardCount(count, shardSize)} shards of ${shardSize}`);
  }
  const firstIndex = shardIndex * shardSize;
  const end = Math.min(count, firstIndex + shardSize);
  const samples: PairSampleInput[] = [];
  for (let index = firstIndex; index < end; index++) {
    const label = data.labels[index]!;
    const className = data.classes[label];
    if (className === undefined) throw new Error(`image ${index} has label ${label}, but there are ${data.classes.length} classes`);
    const caption = typeof data.captions === 'function' ? data.captions(index, label) : data.captions[index]!;
    const key = sampleKey(index);
    const image = encodePng(data.images.subarray(index * per, (index + 1) * per), geometry);
    const meta = { key, caption: normalizeCaption(caption), status: 'success', width: geometry.size, height: geometry.size, label, className, source: data.source, index };
    samples.push({ key, image, ext: 'png', caption, meta });
  }
  return { shardIndex, name: shardName(shardIndex), firstIndex, samples: samples.length, bytes: await packPairShard(samples) };
}

/** Every pair shard of a captioned image set, in order. */
export async function captionedPairShards(data: CaptionedImages, shardSize: number): Promise<BuiltPairShard[]> {
  const shards: BuiltPairShard[] = [];
  for (let s = 0; s < pairShardCount(data.labels.length, shardSize); s++) shards.push(await captionedPairShard(data, s, shardSize));
  return shards;
}
