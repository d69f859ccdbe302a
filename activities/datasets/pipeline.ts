// The moving parts of an import: read + decode + fit + PNG-encode several inputs at once while
// keeping their order (mapOrdered: results come out in input order, at most `concurrency` in flight,
// so memory holds that many files), and the shard writer (one shard of encoded images at a time,
// flushed at imagesPerShard images or 256 MiB, whichever comes first, so a shard always fits the
// stored-split reader's caps).
import { sha256 } from '../../core/blob-store.js';
import type { ImportSkipReason } from '../../core/datasets/imagefolder.js';
import { fitToGeometry, SkippedInputError } from '../../core/image/fit-geometry.js';
import type { ImageGeometry } from '../../core/image/geometry.js';
import { encodePng } from '../../core/png.js';
import type { ShardRecord } from '../../core/shards/manifest.js';
import { packShard, shardName, type ShardSample } from '../../core/shards/webdataset.js';
import type { BlobStore } from '../../core/storage.js';
import type { ResumePoint, SourceItem } from './sources.js';

type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * `fn` over `source`, at most `concurrency` running at once, results in source order. Up to
 * `lookahead` x `concurrency` items are started ahead of the one being consumed, so one slow item
 * does not idle the others (finished results wait, holding only what `fn` returned). A failure is
 * rethrown in its turn.
 */
export async function* mapOrdered<T, R>(source: AsyncIterable<T>, concurrency: number, fn: (item: T) => Promise<R>, lookahead = 4): AsyncGenerator<R> {
  const it = source[Symbol.asyncIterator]();
  const queue: Promise<Settled<R>>[] = [];
  const waiting: (() => void)[] = [];
  let running = 0;
  // A finished item hands its slot straight to the next waiting one, so at most `concurrency` run.
  const limited = async (item: T): Promise<R> => {
    if (running < concurrency) running++;
    else await new Promise<void>((wake) => waiting.push(wake));
    try {
      return await fn(item);
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
  let exhausted = false;
  try {
    for (;;) {
      while (!exhausted && queue.length < concurrency * lookahead) {
        const next = await it.next();
        if (next.done) exhausted = true;
        else queue.push(limited(next.value).then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error })));
      }
      const head = queue.shift();
      if (!head) return;
      const settled = await head;
      if (!settled.ok) throw settled.error;
      yield settled.value;
    }
  } finally {
    await it.return?.();
  }
}

/** An input after decoding: accepted (with its file's sha256 and the PNG to store) or skipped. */
export type Decoded =
  | { id: string; next: ResumePoint; label: number; fileSha256: string; png: Uint8Array }
  | { id: string; next: ResumePoint; skip: { reason: ImportSkipReason | string; message: string } };

/** Read, hash, fit and encode one input; unusable input is a skip, anything else (I/O trouble) throws. */
export async function decodeItem(item: SourceItem, geometry: ImageGeometry, maxPixels: number): Promise<Decoded> {
  const { id, next } = item;
  if (item.skip || item.label === undefined || !item.load) return { id, next, skip: item.skip ?? { reason: 'no-label', message: 'no label' } };
  try {
    const bytes = await item.load();
    const fileSha256 = sha256(bytes);
    const pixels = await fitToGeometry(bytes, geometry, { maxPixels });
    return { id, next, label: item.label, fileSha256, png: encodePng(pixels, geometry) };
  } catch (err) {
    if (err instanceof SkippedInputError) return { id, next, skip: { reason: err.reason, message: err.message } };
    throw err;
  }
}

/** Tar bytes a sample adds beyond its PNG: two 512-byte headers, padding and the JSON. */
const SAMPLE_OVERHEAD_BYTES = 2048;
export const SHARD_BYTE_BUDGET = 256 * 1024 * 1024;

/** One split's output shards, written to `<prefix>/shard-000003-<chain>.tar`. */
export class ShardWriter {
  private samples: ShardSample[] = [];
  private bytes = 0;

  constructor(
    private readonly store: BlobStore,
    private readonly prefix: string,
    private readonly imagesPerShard: number,
    private readonly byteBudget = SHARD_BYTE_BUDGET,
  ) {}

  add(sample: ShardSample): void {
    this.samples.push(sample);
    this.bytes += sample.png.byteLength + SAMPLE_OVERHEAD_BYTES;
  }

  get pending(): number {
    return this.samples.length;
  }

  get full(): boolean {
    return this.samples.length >= this.imagesPerShard || this.bytes >= this.byteBudget;
  }

  /** Store the pending samples as shard `index`; its name carries the fingerprint chain up to its last image. */
  async flush(index: number, firstIndex: number, chain: string): Promise<ShardRecord> {
    const samples = this.samples;
    this.samples = [];
    this.bytes = 0;
    const key = `${this.prefix}/${shardName(index).replace(/\.tar$/, '')}-${chain.slice(0, 16)}.tar`;
    const put = await this.store.put(key, await packShard(samples));
    return { uri: put.uri, sha256: put.sha256, bytes: put.size, samples: samples.length, firstIndex, failedItems: [] };
  }
}
