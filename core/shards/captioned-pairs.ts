// Pair shards built from a labelled image set with one caption per image (Fashion-MNIST +
// captioner.ts): grey PNGs keyed by global index, with img2dataset-style metadata, packed as
// pairs.ts packs any pair shard, so the embedded pairs are read by the same code as a lab's own.
import { IMAGE_PIXELS, IMAGE_SIDE } from '../datasets/fashion-mnist.js';
import { encodeGrayPng } from '../png.js';
import { normalizeCaption, packPairShard, type PairSampleInput } from './pairs.js';
import { sampleKey, shardName } from './webdataset.js';

/** 28x28 grey images with labels and one caption each (e.g. Fashion-MNIST + captioner.ts). */
export interface CaptionedImages {
  /** count x 784 bytes, row-major. */
  images: Uint8Array;
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
  if (data.images.length !== count * IMAGE_PIXELS) throw new Error(`${data.images.length} image bytes for ${count} labels (want ${IMAGE_PIXELS} each)`);
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
    const image = encodeGrayPng(data.images.subarray(index * IMAGE_PIXELS, (index + 1) * IMAGE_PIXELS), IMAGE_SIDE, IMAGE_SIDE);
    const meta = { key, caption: normalizeCaption(caption), status: 'success', width: IMAGE_SIDE, height: IMAGE_SIDE, label, className, source: data.source, index };
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
