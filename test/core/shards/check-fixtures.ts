// Real shard sets on disk for the shard-check tests: good img2dataset and synthscale shards, and
// the ways they go bad (truncated, missing, a member missing, too few samples, a bad image).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { encodePng } from '../../../core/png.js';
import { packPairShard, type PairSampleInput } from '../../../core/shards/pairs.js';
import { packTar } from '../../../core/shards/tar.js';

const GREY = { size: 8, channels: 1 } as const;

export function greyPng(seed: number): Uint8Array {
  const pixels = new Uint8Array(64).map((_, i) => (i * 7 + seed * 13) % 256);
  return encodePng(pixels, GREY);
}

export async function rgbJpeg(): Promise<Uint8Array> {
  const raw = Buffer.alloc(16 * 12 * 3, 128);
  return new Uint8Array(await sharp(raw, { raw: { width: 16, height: 12, channels: 3 } }).jpeg().toBuffer());
}

/** `count` pairs keyed `{shard}{i}` (img2dataset's keys: shard id then index), every third a JPEG. */
export async function pairSamples(shard: number, count: number): Promise<PairSampleInput[]> {
  const jpeg = await rgbJpeg();
  return Array.from({ length: count }, (_, i) => ({
    key: `${String(shard).padStart(5, '0')}${String(i).padStart(4, '0')}`,
    image: i % 3 === 2 ? jpeg : greyPng(shard * 100 + i),
    ext: i % 3 === 2 ? ('jpg' as const) : ('png' as const),
    caption: `a photo of item ${i}`,
    meta: { label: i % 10 },
  }));
}

export async function pairShard(shard: number, count: number): Promise<Uint8Array> {
  return packPairShard(await pairSamples(shard, count));
}

/** A tar of exactly these entries, in this order (no sorting, no checks). */
export function rawTar(entries: { name: string; data: Uint8Array | string }[]): Promise<Uint8Array> {
  return packTar(entries.map((e) => ({ name: e.name, data: typeof e.data === 'string' ? new TextEncoder().encode(e.data) : e.data })));
}

export async function writeShards(dir: string, shards: Record<string, Uint8Array>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(shards)) await writeFile(join(dir, name), bytes);
}
