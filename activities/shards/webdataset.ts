// WebDataset-style tar shards: `{key}.png` + `{key}.json` per sample, entries sorted and
// stamped with a fixed mtime so a shard's bytes (and hash) depend only on its content.
import { Readable } from 'node:stream';
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
    super(`${shard}${key ? ` [${key}]` : ''}: ${message}`);
  }
}

/** Parse a shard, grouping files by key. Shards are untrusted: bound sizes, validate structure. */
export async function unpackShard(
  bytes: Uint8Array,
  shard: string,
  limits: ReadShardLimits = { maxSamples: 100_000, maxEntryBytes: 1024 * 1024 },
): Promise<ShardSample[]> {
  const extract = tar.extract();
  const groups = new Map<string, { png?: Uint8Array; json?: Uint8Array }>();
  const finished = new Promise<void>((resolveDone, reject) => {
    extract.on('entry', (header, stream, next) => {
      const fail = (message: string, key?: string) => {
        stream.resume();
        reject(new ShardFormatError(shard, key, message));
      };
      if (header.type !== 'file') return fail(`entry ${header.name} is a ${header.type}, expected a file`);
      const match = /^([a-z0-9][a-z0-9_-]{0,127})\.(png|json)$/.exec(header.name);
      if (!match) return fail(`unexpected entry name "${header.name}"`);
      const [, key, ext] = match as unknown as [string, string, 'png' | 'json'];
      if ((header.size ?? 0) > limits.maxEntryBytes) return fail(`${header.name} is ${header.size} bytes, limit ${limits.maxEntryBytes}`, key);
      const group = groups.get(key) ?? {};
      if (group[ext]) return fail(`duplicate .${ext} for key`, key);
      if (!groups.has(key) && groups.size >= limits.maxSamples) return fail(`more than ${limits.maxSamples} samples`);
      const parts: Buffer[] = [];
      let size = 0;
      stream.on('data', (data: unknown) => {
        const chunk = data as Buffer;
        size += chunk.length;
        if (size <= limits.maxEntryBytes) parts.push(chunk);
      });
      stream.on('end', () => {
        group[ext] = new Uint8Array(Buffer.concat(parts));
        groups.set(key, group);
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', () => resolveDone());
    extract.on('error', (err: Error) => reject(new ShardFormatError(shard, undefined, `not a valid tar (${err.message})`)));
  });
  Readable.from([Buffer.from(bytes)]).pipe(extract);
  await finished;
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
