// Parts of a shard being generated: every chunk of items is committed as `${shardKey}.part-NNNNNN`
// (NNNNNN = the chunk's first offset within the shard, 6+ digits), a WebDataset tar of the chunk's
// samples (packShard), and `${shardKey}.part-NNNNNN.json`, its sidecar, written after the tar (so
// it commits the part): { format, shard, fingerprint, offset, end, samples, failedItems, sha256 },
// covering offsets [offset, end). Items that failed for good are listed in the sidecar's
// failedItems and are absent from the tar. `fingerprint` hashes the inputs that determine the
// samples, so parts of another configuration are never reused.
//
// The finished shard is the parts' tars concatenated (assembleShard): packShard sorts entries by
// name and tars have no offsets, so parts of consecutive key ranges, each without its end-of-archive
// blocks, followed by those blocks, are byte for byte packShard of all the samples, without packing
// them twice.
import type { ShardRecord } from '../../core/shards/manifest.js';
import { MAX_SAMPLE_PNG_BYTES } from '../../core/png.js';
import { packShard, sampleKey, unpackShard, type ShardSample } from '../../core/shards/webdataset.js';
import { getJson, sha256, type BlobStore } from '../../core/storage.js';
import type { GenerateShardInput } from './io.js';
import { validateFailedItems } from './shard-input.js';

export const PART_FORMAT = 'synthscale-shard-part-1';

interface PartMeta {
  format: typeof PART_FORMAT;
  shard: string;
  fingerprint: string;
  offset: number;
  end: number;
  samples: number;
  failedItems: ShardRecord['failedItems'];
  sha256: string;
}

/** A committed part that fails its checks: it is deleted and regenerated. */
export class InvalidPartError extends Error {}

/** The key of the part (tar) whose first item is at `offset` within the shard. */
export function partKey(shardKey: string, offset: number): string {
  return `${shardKey}.part-${String(offset).padStart(6, '0')}`;
}

export const partMetaKey = (shardKey: string, offset: number) => `${partKey(shardKey, offset)}.json`;

export interface VerifiedPart {
  end: number;
  samples: ShardSample[];
  failedItems: ShardRecord['failedItems'];
  /** The part's tar as stored. */
  tar: Uint8Array;
}

/** Read and check one committed part: sidecar shape, fingerprint, checksums and sample keys. */
export async function readPart(
  store: BlobStore,
  input: GenerateShardInput,
  offset: number,
  fingerprint: string,
): Promise<VerifiedPart | 'stale'> {
  const where = store.uri(partKey(input.shardKey, offset));
  let meta: Partial<PartMeta>;
  try {
    meta = await getJson<Partial<PartMeta>>(store, partMetaKey(input.shardKey, offset), 1024 * 1024);
  } catch (err) {
    if (err instanceof SyntaxError) throw new InvalidPartError(`${where}.json is not valid JSON`);
    throw err;
  }
  if (!meta || typeof meta !== 'object' || meta.format !== PART_FORMAT || meta.shard !== input.shardKey) {
    throw new InvalidPartError(`${where}.json is not a ${PART_FORMAT} sidecar of this shard`);
  }
  if (meta.fingerprint !== fingerprint) return 'stale';
  const end = meta.end;
  if (meta.offset !== offset || !Number.isInteger(end) || end! <= offset || end! > input.count) {
    throw new InvalidPartError(`${where}.json: range [${meta.offset}, ${meta.end}) does not fit offset ${offset} of ${input.count}`);
  }
  const failedItems = validateFailedItems(meta.failedItems, input.firstIndex + offset, input.firstIndex + end!);
  if (!failedItems || typeof meta.sha256 !== 'string' || !Number.isInteger(meta.samples)) {
    throw new InvalidPartError(`${where}.json: malformed failedItems, samples or sha256`);
  }
  const bytes = await store.get(partKey(input.shardKey, offset), { maxBytes: 512 * 1024 * 1024 });
  if (sha256(bytes) !== meta.sha256) throw new InvalidPartError(`${where}: sha256 differs from its sidecar`);
  const samples = await unpackShard(bytes, where, { maxSamples: 100_000, maxEntryBytes: MAX_SAMPLE_PNG_BYTES });
  const failed = new Set(failedItems.map((f) => f.index));
  const expected: string[] = [];
  for (let i = offset; i < end!; i++) if (!failed.has(input.firstIndex + i)) expected.push(sampleKey(input.firstIndex + i));
  if (samples.length !== meta.samples || samples.length !== expected.length || samples.some((s, i) => s.key !== expected[i])) {
    throw new InvalidPartError(`${where}: holds ${samples.length} samples, expected ${expected.length} (keys ${expected[0] ?? '-'}..)`);
  }
  for (const s of samples) {
    if (s.meta.index !== Number(s.key)) throw new InvalidPartError(`${where} [${s.key}]: metadata index ${s.meta.index}`);
  }
  return { end: end!, samples, failedItems, tar: bytes };
}

/** tar-stream ends an archive with two zero blocks and pads every entry to 512 bytes. */
const END_OF_ARCHIVE = 1024;

/**
 * The shard whose parts are `tars` (in order, covering consecutive items): their entries, then the
 * end-of-archive blocks; equal to packShard of all their samples. Null when a tar is not shaped as
 * packShard writes them (then the caller packs the samples).
 */
export function assembleShard(tars: readonly Uint8Array[]): Uint8Array | null {
  let size = END_OF_ARCHIVE;
  for (const tar of tars) {
    if (tar.byteLength < END_OF_ARCHIVE || tar.byteLength % 512 !== 0) return null;
    for (let i = tar.byteLength - END_OF_ARCHIVE; i < tar.byteLength; i++) if (tar[i] !== 0) return null;
    size += tar.byteLength - END_OF_ARCHIVE;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const tar of tars) {
    out.set(tar.subarray(0, tar.byteLength - END_OF_ARCHIVE), offset);
    offset += tar.byteLength - END_OF_ARCHIVE;
  }
  return out;
}

function partsPrefix(shardKey: string): string {
  return `${shardKey}.part-`;
}

/** Part objects (tars and sidecars) of a shard currently in storage. */
export async function listParts(store: BlobStore, shardKey: string): Promise<string[]> {
  const slash = shardKey.lastIndexOf('/');
  if (slash < 0) return []; // A key at the store root: nothing to list by; parts are found by probing.
  const prefix = partsPrefix(shardKey);
  return (await store.list(shardKey.slice(0, slash))).filter((key) => key.startsWith(prefix));
}

/**
 * Delete parts, the part at offset 0 last (its absence then means no parts remain), each part's
 * sidecar before its tar. Parts other than 0 go a few at a time (their order does not matter:
 * they are garbage once the shard is committed, or beyond a gap when it is not).
 */
export async function deleteParts(store: BlobStore, shardKey: string, keys: Iterable<string>): Promise<void> {
  const prefix = partsPrefix(shardKey);
  const offsetOf = (key: string) => Number(/^(\d+)/.exec(key.slice(prefix.length))?.[1] ?? 0);
  const byOffset = new Map<number, string[]>();
  for (const key of new Set(keys)) {
    const offset = offsetOf(key);
    byOffset.set(offset, [...(byOffset.get(offset) ?? []), key]);
  }
  const deletePart = async (offset: number) => {
    const sorted = byOffset.get(offset)!.sort((a, b) => (a.endsWith('.json') ? -1 : 1) - (b.endsWith('.json') ? -1 : 1));
    for (const key of sorted) await store.delete(key);
  };
  const others = [...byOffset.keys()].filter((o) => o !== 0).sort((a, b) => b - a);
  for (let i = 0; i < others.length; i += DELETE_CONCURRENCY) await Promise.all(others.slice(i, i + DELETE_CONCURRENCY).map(deletePart));
  if (byOffset.has(0)) await deletePart(0);
}

const DELETE_CONCURRENCY = 8;

/** The chunk of items [offset, end) of a shard as a committed part: the tar, then its sidecar. */
export interface NewPart {
  shardKey: string;
  fingerprint: string;
  offset: number;
  end: number;
  samples: ShardSample[];
  failedItems: ShardRecord['failedItems'];
}

/** Write a part (tar, then the sidecar that commits it), adding its keys to `written`; resolves to the tar. */
export async function writePart(store: BlobStore, part: NewPart, written: Set<string>): Promise<Uint8Array> {
  const tar = await packShard(part.samples);
  const put = await store.put(partKey(part.shardKey, part.offset), tar);
  written.add(partKey(part.shardKey, part.offset));
  const meta: PartMeta = {
    format: PART_FORMAT,
    shard: part.shardKey,
    fingerprint: part.fingerprint,
    offset: part.offset,
    end: part.end,
    samples: part.samples.length,
    failedItems: part.failedItems,
    sha256: put.sha256,
  };
  await store.put(partMetaKey(part.shardKey, part.offset), new TextEncoder().encode(JSON.stringify(meta)));
  written.add(partMetaKey(part.shardKey, part.offset));
  return tar;
}
