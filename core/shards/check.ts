// `synthscale shards check` and the plan's check of a real-pairs source: a shard set (file:// or
// gs:// URIs, brace ranges expanded under the MAX_SHARDS cap) checked before a sweep spends hours
// on it. Every shard is first looked up (missing ones, links, shards over maxShardBytes), then
// streamed in order, a few at a time (check-shard.ts: tar headers, captions and metadata, image
// headers only), for its sample count and its first bad entry. With `samplesNeeded`, reading stops
// once the shards read so far hold that many samples (the import reads no further); the rest are
// only looked up.
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Storage } from '@google-cloud/storage';
import { defaultGcsClient, metadataOrNull, objectSize, parseGcsObjectUri } from '../gcs-client.js';
import { expandShardPatterns } from './brace.js';
import { CHECK_LAYOUTS, guessLayout, type ShardLayoutName } from './check-layouts.js';
import { peekEntryNames, scanShard, shown, type ShardProblem } from './check-shard.js';
import { DEFAULT_MAX_PAIR_IMAGE_PIXELS, DEFAULT_PAIR_SHARD_LIMITS } from './pairs.js';

export { MAX_SHARDS } from './brace.js';
export { shown, ShardReadError } from './check-shard.js';
export type { ShardLayoutName } from './check-layouts.js';

/** How a shard is found and read. */
export interface ShardAccess {
  stat(uri: string): Promise<{ size: number } | { missing: true } | { refused: string }>;
  open(uri: string): Promise<AsyncIterable<Uint8Array>>;
}

export interface ShardCheck {
  /** The shard's URI, escaped for display. */
  uri: string;
  /** ok; bad (its first problem below); missing; unread (looked up only: enough samples before it). */
  status: 'ok' | 'bad' | 'missing' | 'unread';
  bytes?: number;
  /** Samples counted (up to the problem, for a bad shard). */
  samples?: number;
  emptyCaptions?: number;
  skippedEntries?: Record<string, number>;
  problem?: ShardProblem;
}

export interface ShardSetProblem extends ShardProblem {
  /** The shard it is in (escaped), absent for a problem of the whole set. */
  shard?: string;
}

export interface ShardSetReport {
  layout: ShardLayoutName;
  shards: ShardCheck[];
  missing: string[];
  totalBytes: number;
  totalSamples: number;
  problems: ShardSetProblem[];
  ok: boolean;
}

export interface ShardSetCheckOptions {
  /** Default 'auto': img2dataset when the first shard has captions (.txt), webdataset when it is synthscale's own .png + .json. */
  layout?: ShardLayoutName | 'auto';
  /** Fewer samples in all is a problem. */
  minSamples?: number;
  /** Read shards in order only until this many samples (the rest are looked up). */
  samplesNeeded?: number;
  /** Default true; the pair import groups a shard's entries by key whatever their order, so the plan passes false. */
  requireKeyOrder?: boolean;
  /** Default 1 GiB, a real-pairs source's default maxShardBytes. */
  maxShardBytes?: number;
  /** Shards streamed at once (default 4). */
  concurrency?: number;
  access?: ShardAccess;
  /** After each shard, and every 16 MiB read (for heartbeats while a large shard streams). */
  onProgress?: (progress: { shardsChecked: number; shards: number; samples: number; bytesRead: number }) => void;
}

const DEFAULT_MAX_SHARD_BYTES = 1024 ** 3;
const PROGRESS_BYTES = 16 * 1024 * 1024;

/** A local path (relative to the working directory) as a file:// URI; URIs stay as they are. */
export function toShardUri(pathOrUri: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(pathOrUri) ? pathOrUri : pathToFileURL(resolve(pathOrUri)).href;
}

/** Patterns (paths or URIs, brace ranges) as URIs, in order: at most MAX_SHARDS in all, each once. */
export function shardUris(patterns: readonly string[]): string[] {
  return expandShardPatterns(patterns).map(toShardUri);
}

/** file:// (links and devices refused) and gs:// (the shared client; STORAGE_EMULATOR_HOST honoured). */
export function externalShardAccess(storage?: Storage): ShardAccess {
  const gcs = async (uri: string) => {
    const { bucket, name } = parseGcsObjectUri(uri);
    return (storage ?? (await defaultGcsClient())).bucket(bucket).file(name);
  };
  return {
    async stat(uri) {
      if (uri.startsWith('file://')) {
        let path: string;
        try {
          path = fileURLToPath(uri);
        } catch (err) {
          return { refused: `not a usable file:// URI (${(err as Error).message}); write file:///absolute/path` };
        }
        const info = await lstat(path).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'ENOTDIR' ? null : Promise.reject(err)));
        if (!info) return { missing: true };
        return info.isFile() ? { size: info.size } : { refused: 'is not a regular file (links and devices are refused)' };
      }
      if (uri.startsWith('gs://')) {
        let file;
        try {
          file = await gcs(uri);
        } catch (err) {
          return { refused: (err as Error).message };
        }
        const meta = await metadataOrNull(file);
        return meta ? { size: objectSize(meta) } : { missing: true };
      }
      return { refused: 'has an unsupported scheme; use a local path, file:// or gs://' };
    },
    async open(uri) {
      if (uri.startsWith('file://')) return createReadStream(fileURLToPath(uri), { highWaterMark: 1024 * 1024 });
      return (await gcs(uri)).createReadStream();
    },
  };
}

/** Check a shard set; see the header. Problems of the shards are in the report; failures to read (I/O) throw. */
export async function checkShardSet(uris: readonly string[], opts: ShardSetCheckOptions = {}): Promise<ShardSetReport> {
  const access = opts.access ?? externalShardAccess();
  const maxShardBytes = opts.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  const problems: ShardSetProblem[] = [];
  const shards = await lookUp(uris, access, maxShardBytes, problems);
  const layout = await chooseLayout(uris, shards, access, opts.layout ?? 'auto');
  const scanOptions = {
    layout: CHECK_LAYOUTS[layout],
    requireKeyOrder: opts.requireKeyOrder ?? true,
    maxSamples: DEFAULT_PAIR_SHARD_LIMITS.maxSamples,
    maxEntries: DEFAULT_PAIR_SHARD_LIMITS.maxEntries,
    maxPixels: DEFAULT_MAX_PAIR_IMAGE_PIXELS,
  };
  const toRead = shards.map((s, i) => i).filter((i) => shards[i]!.status === 'unread');
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  let samples = 0;
  let checked = 0;
  let bytesRead = 0;
  let reported = 0;
  const progress = () => opts.onProgress?.({ shardsChecked: checked, shards: toRead.length, samples, bytesRead });
  const counted = async function* (chunks: AsyncIterable<Uint8Array>) {
    for await (const chunk of chunks) {
      bytesRead += chunk.byteLength;
      if (bytesRead - reported >= PROGRESS_BYTES) {
        reported = bytesRead;
        progress();
      }
      yield chunk;
    }
  };
  for (let at = 0; at < toRead.length; at += concurrency) {
    if (opts.samplesNeeded !== undefined && samples >= opts.samplesNeeded) break;
    await Promise.all(
      toRead.slice(at, at + concurrency).map(async (i) => {
        const shard = shards[i]!;
        const scan = await scanShard(counted(await access.open(uris[i]!)), scanOptions);
        Object.assign(shard, { status: scan.problem ? 'bad' : 'ok', samples: scan.samples, emptyCaptions: scan.emptyCaptions, skippedEntries: scan.skippedEntries });
        if (scan.problem) {
          shard.problem = scan.problem;
          problems.push({ shard: shard.uri, ...scan.problem });
        }
        samples += scan.samples;
        checked++;
        progress();
      }),
    );
  }
  // Problems in shard order, whatever order the reads finished in.
  const order = new Map(shards.map((s, i) => [s.uri, i]));
  problems.sort((a, b) => (a.shard === undefined ? 1 : b.shard === undefined ? -1 : order.get(a.shard)! - order.get(b.shard)!));
  if (opts.minSamples !== undefined && samples < opts.minSamples) {
    const unreadable = shards.some((s) => s.status !== 'ok' && s.status !== 'unread');
    problems.push({ message: `${samples} samples in all${unreadable ? ' (in the shards that could be read)' : ''}, fewer than the ${opts.minSamples} required` });
  }
  return {
    layout,
    shards,
    missing: shards.filter((s) => s.status === 'missing').map((s) => s.uri),
    totalBytes: shards.reduce((n, s) => n + (s.bytes ?? 0), 0),
    totalSamples: samples,
    problems,
    ok: problems.length === 0,
  };
}

/** Every shard looked up, 16 at a time: missing, refused, over the size cap, or to read. */
async function lookUp(uris: readonly string[], access: ShardAccess, maxShardBytes: number, problems: ShardSetProblem[]): Promise<ShardCheck[]> {
  const shards: ShardCheck[] = [];
  for (let at = 0; at < uris.length; at += 16) {
    const stats = await Promise.all(uris.slice(at, at + 16).map((uri) => access.stat(uri)));
    stats.forEach((stat, j) => {
      const uri = shown(uris[at + j]!, 2000);
      if ('missing' in stat) {
        shards.push({ uri, status: 'missing' });
        problems.push({ shard: uri, message: 'does not exist (check the shard list and its {00000..00099} ranges)' });
      } else if ('refused' in stat) {
        shards.push({ uri, status: 'bad', problem: { message: shown(stat.refused, 1000) } });
        problems.push({ shard: uri, message: shown(stat.refused, 1000) });
      } else if (stat.size > maxShardBytes) {
        const message = `is ${stat.size} bytes, over maxShardBytes (${maxShardBytes}); raise maxShardBytes if the shard is genuine`;
        shards.push({ uri, status: 'bad', bytes: stat.size, problem: { message } });
        problems.push({ shard: uri, message });
      } else {
        shards.push({ uri, status: 'unread', bytes: stat.size });
      }
    });
  }
  return shards;
}

/** The layout asked for, or the one the first readable shard's first entries suggest. */
async function chooseLayout(uris: readonly string[], shards: ShardCheck[], access: ShardAccess, asked: ShardLayoutName | 'auto'): Promise<ShardLayoutName> {
  if (asked !== 'auto') return asked;
  const first = shards.findIndex((s) => s.status === 'unread');
  if (first < 0) return 'img2dataset';
  return guessLayout(await peekEntryNames(await access.open(uris[first]!), 8));
}

/** One line per problem, for people: `<shard> [<key>]: <message>` (all parts escaped). */
export function problemLine(problem: ShardSetProblem): string {
  return `${problem.shard ?? 'shard set'}${problem.key !== undefined ? ` [${problem.key}]` : ''}: ${problem.message}`;
}
