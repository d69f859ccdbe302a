// WebDataset-style tar shards: `{key}.png` + `{key}.json` per sample, entries sorted and
// stamped with a fixed mtime so a shard's bytes (and hash) depend only on its content.
import { entryLabel, packTar, readTar, ShardFormatError, type TarEntryPlan, type TarLayout } from './tar.js';

export { ShardFormatError };

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
    /** When the generator keeps originals: the image as returned, at this key of the sweep's store (`originals/<sha256>.<ext>`). */
    original?: string;
  };
}

export interface ShardSample {
  key: string;
  png: Uint8Array;
  meta: SampleMeta;
}

const KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,127}$/;

/** Sample keys are zero-padded indices: unique, sortable across shards. */
export function sampleKey(index: number): string {
  return String(index).padStart(9, '0');
}

export function shardName(shardIndex: number): string {
  return `shard-${String(shardIndex).padStart(6, '0')}.tar`;
}

export async function packShard(samples: ShardSample[]): Promise<Uint8Array> {
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
  return packTar(entries);
}

export interface ReadShardLimits {
  maxSamples: number;
  maxEntryBytes: number;
}

const ENTRY_NAME = /^([a-z0-9][a-z0-9_-]{0,127})\.(png|json)$/;

/** Our layout for readTar: only `{key}.png` and `{key}.json`, each one per key, entries named JSON-quoted. */
function shardLayout(limits: ReadShardLimits): TarLayout<TarEntryPlan> {
  return {
    gzipNote: '',
    label: entryLabel,
    maxSamples: limits.maxSamples,
    requireEndMarker: true,
    classify(name, label) {
      const match = ENTRY_NAME.exec(name);
      if (!match) return { refuse: `unexpected entry name ${label}: expected {key}.png or {key}.json, key 1-128 of [a-z0-9_-]` };
      return { key: match[1]!, part: match[2]!, maxBytes: limits.maxEntryBytes };
    },
    notAFile: (label, type) => `entry ${label} is a ${type}, expected a regular file`,
    cutShort: (label) => `truncated tar: entry ${label} is cut short`,
    tooBig: (plan, label, size) => `entry ${label} declares ${size} bytes, limit ${plan.maxBytes}`,
    duplicate: (plan, label) => `duplicate entry ${label} (a second .${plan.part} for the key)`,
  };
}

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
  const { groups } = await readTar(bytes, shard, shardLayout(limits));
  const samples: ShardSample[] = [];
  for (const key of [...groups.keys()].sort()) {
    const group = groups.get(key)!;
    const png = group.get('png')?.data;
    const json = group.get('json')?.data;
    if (!png || !json) throw new ShardFormatError(shard, key, `sample lacks its ${png ? '.json' : '.png'}`);
    let meta: unknown;
    try {
      meta = JSON.parse(new TextDecoder().decode(json));
    } catch {
      throw new ShardFormatError(shard, key, 'metadata is not valid JSON');
    }
    samples.push({ key, png, meta: validateMeta(meta, shard, key) });
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
