// WebDataset-style tar shards: `{key}.png` + `{key}.json` per sample, entries sorted and
// stamped with a fixed mtime so a shard's bytes (and hash) depend only on its content.
import tar from 'tar-stream';

/** Label of a sample no class could be read for (an imported caption pair; CLIP trains on its text alone). */
export const UNLABELED = 255;

export interface SampleMeta {
  label: number;
  className: string;
  prompt?: string;
  /** A real-pairs sample's caption (CLIP's text), and where it was imported from. */
  caption?: string;
  pair?: { shard: string; key: string };
  cfgScale?: number;
  seed?: string;
  generator?: string;
  source: string;
  /** Index in the source's full ordering (nested subsets take the first N). */
  index: number;
  /** For images from an HTTP text-to-image server: what it returned, before resizing. */
  http?: {
    endpoint: string;
    /** The seed sent, and the one the server reports using (A1111), when it reports one. */
    seed: number;
    reportedSeed?: number;
    revisedPrompt?: string;
    format: string;
    width: number;
    height: number;
    bytes: number;
  };
}

export interface ShardSample {
  key: string;
  png: Uint8Array;
  meta: SampleMeta;
}

const FIXED_MTIME = new Date(0);
const KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,127}$/;

/** Sample keys are zero-padded indices: unique, sortable across shards. */
export function sampleKey(index: number): string {
  return String(index).padStart(9, '0');
}

export function shardName(shardIndex: number): string {
  return `shard-${String(shardIndex).padStart(6, '0')}.tar`;
}

export async function packShard(samples: ShardSample[]): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolveDone, reject) => {
    pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    pack.on('end', () => resolveDone());
    pack.on('error', reject);
  });
  const seen = new Set<string>();
  const entries: { name: string; data: Uint8Array }[] = [];
  for (const sample of samples) {
    if (!KEY_PATTERN.test(sample.key)) throw new Error(`invalid sample key "${sample.key}"`);
    if (seen.has(sample.key)) throw new Error(`duplicate sample key "${sample.key}"`);
    seen.add(sample.key);
    entries.push({ name: `${sample.key}.png`, data: sample.png });
    entries.push({ name: `${sample.key}.json`, data: new TextEncoder().encode(JSON.stringify(sample.meta)) });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    await new Promise<void>((res, rej) =>
      pack.entry(
        { name: entry.name, size: entry.data.byteLength, mtime: FIXED_MTIME, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '' },
        Buffer.from(entry.data),
        (err) => (err ? rej(err) : res()),
      ),
    );
  }
  pack.finalize();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}

export interface ReadShardLimits {
  maxSamples: number;
  maxEntryBytes: number;
}

export class ShardFormatError extends Error {
  readonly code = 'E_SHARD_FORMAT';
  constructor(
    readonly shard: string,
    readonly key: string | undefined,
    message: string,
  ) {
    // Names come from the shard (untrusted): control characters escaped and lengths capped, so an
    // error never carries raw bytes or megabytes of name into logs and workflow histories.
    super(`${shard}${key ? ` [${shownText(key, 160)}]` : ''}: ${shownText(message, 1000)}`);
  }
}

/** Text for a message: control characters as \uXXXX, at most `max` characters (then its length). */
function shownText(text: string, max: number): string {
  const escaped = text.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > max ? `${escaped.slice(0, max)}... (${escaped.length} characters)` : escaped;
}

/** An entry name as shown in an error: JSON-quoted (control characters escaped), at most 100 characters. */
function entryLabel(name: string): string {
  return JSON.stringify(name.length > 100 ? `${name.slice(0, 100)}...` : name) + (name.length > 100 ? ` (${name.length} characters)` : '');
}

const ENTRY_NAME = /^([a-z0-9][a-z0-9_-]{0,127})\.(png|json)$/;
const TAR_BLOCK = 512;

/**
 * Parse a shard, grouping files by key. Shards are untrusted, so this refuses, with a
 * ShardFormatError naming the shard and the entry: names other than `{key}.png` / `{key}.json`
 * (so no traversal, absolute paths or long PAX/GNU names), anything but regular files (links,
 * devices, fifos, directories), duplicate files of a key, entries over `maxEntryBytes` (declared in
 * the header or PAX size, and counted while streaming), more than `maxSamples` keys, gzip and
 * non-tar bytes, and archives cut short: inside an entry, or at an entry boundary (no end-of-archive
 * blocks), which would otherwise lose whole samples silently.
 */
export async function unpackShard(
  bytes: Uint8Array,
  shard: string,
  limits: ReadShardLimits = { maxSamples: 100_000, maxEntryBytes: 1024 * 1024 },
): Promise<ShardSample[]> {
  if (bytes.byteLength === 0) throw new ShardFormatError(shard, undefined, 'empty file, not a tar archive');
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) throw new ShardFormatError(shard, undefined, 'gzip-compressed; expected an uncompressed tar');
  const groups = new Map<string, { png?: Uint8Array; json?: Uint8Array }>();
  /** Where the last entry's data (padded to a block) ends: an end-of-archive marker must follow. */
  let dataEnd = 0;
  await new Promise<void>((resolveDone, reject) => {
    const extract = tar.extract();
    let failed = false;
    let last: string | undefined;
    /** Where the last entry's data ends (unpadded): a tar that ends before it is cut inside that entry. */
    let lastDataEnd = 0;
    const fail = (where: string | undefined, message: string) => {
      if (failed) return;
      failed = true;
      reject(new ShardFormatError(shard, where, message));
      extract.destroy();
    };
    extract.on('entry', (header, stream, next) => {
      const label = entryLabel(header.name);
      stream.on('error', (err: Error) => fail(label, `truncated tar: entry ${label} is cut short (${err.message})`));
      if (failed) return void stream.resume();
      last = label;
      if (header.type !== 'file') return fail(label, `entry ${label} is a ${header.type}, expected a regular file`);
      const match = ENTRY_NAME.exec(header.name);
      if (!match) return fail(label, `unexpected entry name ${label}: expected {key}.png or {key}.json, key 1-128 of [a-z0-9_-]`);
      const [, key, ext] = match as unknown as [string, string, 'png' | 'json'];
      const declared = header.size ?? 0;
      if (declared > limits.maxEntryBytes) return fail(key, `entry ${label} declares ${declared} bytes, limit ${limits.maxEntryBytes}`);
      const group = groups.get(key) ?? {};
      if (group[ext]) return fail(key, `duplicate entry ${label} (a second .${ext} for the key)`);
      if (!groups.has(key) && groups.size >= limits.maxSamples) return fail(key, `more than ${limits.maxSamples} samples`);
      groups.set(key, group);
      const offset = (header as { byteOffset?: number }).byteOffset;
      if (offset !== undefined) {
        lastDataEnd = offset + declared;
        dataEnd = offset + Math.ceil(declared / TAR_BLOCK) * TAR_BLOCK;
      }
      const parts: Buffer[] = [];
      let size = 0;
      stream.on('data', (data: unknown) => {
        if (failed) return;
        const chunk = data as Buffer;
        size += chunk.length;
        // Defensive: tar-stream delimits entries by the declared size, so this cannot trip today.
        if (size > limits.maxEntryBytes || size > declared) return fail(key, `entry ${label} streams more than ${Math.min(declared, limits.maxEntryBytes)} bytes`);
        parts.push(chunk);
      });
      stream.on('end', () => {
        if (failed) return;
        group[ext] = new Uint8Array(Buffer.concat(parts, size));
        next();
      });
    });
    extract.on('finish', () => {
      if (!failed) resolveDone();
    });
    extract.on('error', (err: Error) => {
      if (last && lastDataEnd > bytes.byteLength) fail(last, `truncated tar: entry ${last} is cut short (${err.message})`);
      else fail(last, last ? `truncated or corrupt tar after entry ${last} (${err.message})` : `not a tar archive (${err.message})`);
    });
    extract.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
  // tar-stream accepts an archive that stops at an entry boundary; ours always end with two zero blocks.
  const tail = bytes.subarray(Math.max(dataEnd, bytes.byteLength - 2 * TAR_BLOCK));
  if (bytes.byteLength - dataEnd < 2 * TAR_BLOCK || tail.some((b) => b !== 0)) {
    throw new ShardFormatError(shard, undefined, `truncated tar: no end-of-archive marker after the last entry (${bytes.byteLength} bytes)`);
  }
  const samples: ShardSample[] = [];
  for (const key of [...groups.keys()].sort()) {
    const group = groups.get(key)!;
    if (!group.png || !group.json) throw new ShardFormatError(shard, key, `sample lacks its ${group.png ? '.json' : '.png'}`);
    let meta: unknown;
    try {
      meta = JSON.parse(new TextDecoder().decode(group.json));
    } catch {
      throw new ShardFormatError(shard, key, 'metadata is not valid JSON');
    }
    samples.push({ key, png: group.png, meta: validateMeta(meta, shard, key) });
  }
  return samples;
}

function validateMeta(meta: unknown, shard: string, key: string): SampleMeta {
  if (!meta || typeof meta !== 'object') throw new ShardFormatError(shard, key, 'metadata is not an object');
  const m = meta as Record<string, unknown>;
  if (!Number.isInteger(m.label) || (m.label as number) < 0 || (m.label as number) > 9999) {
    throw new ShardFormatError(shard, key, 'metadata.label must be a non-negative integer');
  }
  if (!Number.isInteger(m.index) || (m.index as number) < 0) throw new ShardFormatError(shard, key, 'metadata.index must be a non-negative integer');
  if (typeof m.source !== 'string' || typeof m.className !== 'string') {
    throw new ShardFormatError(shard, key, 'metadata.source and metadata.className must be strings');
  }
  return m as unknown as SampleMeta;
}
