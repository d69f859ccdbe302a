// Image-caption pairs in WebDataset tar shards, in the layout img2dataset writes: per sample
// `{key}.jpg|jpeg|png|webp` (the image), `{key}.txt` (its caption, UTF-8) and `{key}.json` (its
// metadata: img2dataset writes url, key, caption, status, width, height, ...). This is how a lab
// brings its own LAION/CC subset, and how the embedded Fashion-MNIST pairs are stored.
//
// Reading: shards are untrusted. Names must be flat ("000000000.jpg", what img2dataset writes; a
// leading "./", as `tar -C dir .` writes, is accepted); absolute names, "..", backslashes and
// subdirectories are errors, as are links and devices. The key is the name up to its first dot
// (WebDataset's rule): 1-128 of [A-Za-z0-9_-]. Every entry, image, caption and metadata file is
// size-capped before it is buffered; a key with two images, or without its image or caption, is an
// error; entries with other extensions (.npy, ...) and directories are skipped and counted. A
// caption is strict UTF-8 with control characters and runs of whitespace turned into one space;
// an empty caption (img2dataset writes "" for a missing one) skips its sample, counted. Python's
// json writes NaN/Infinity for missing floats (LAION's punsafe, similarity): read as null. Every
// error is a ShardFormatError naming the shard and the key (or entry).
//
// Writing: entries sorted by key then name, fixed mtime, canonical JSON: byte-reproducible.
import tar from 'tar-stream';
import { IMAGE_PIXELS, IMAGE_SIDE } from '../datasets/fashion-mnist.js';
import { encodeGrayPng, MalformedImageError } from '../png.js';
import { toGrayPixels, UnusableImageError } from '../image/resize.js';
import { sampleKey, shardName, ShardFormatError } from './webdataset.js';

export type PairImageExt = 'jpg' | 'jpeg' | 'png' | 'webp';
const IMAGE_EXTS: ReadonlySet<string> = new Set<PairImageExt>(['jpg', 'jpeg', 'png', 'webp']);
const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const MAX_NAME_LENGTH = 256;
const FIXED_MTIME = new Date(0);

export interface PairSample {
  key: string;
  /** The image file's bytes as stored (decode with decodePairImage). */
  image: Uint8Array;
  ext: PairImageExt;
  caption: string;
  /** The parsed `{key}.json`; {} when the sample has none. */
  meta: Record<string, unknown>;
}

export interface PairShardLimits {
  maxSamples: number;
  /** Tar entries of any kind, skipped ones included. */
  maxEntries: number;
  maxImageBytes: number;
  maxCaptionBytes: number;
  maxJsonBytes: number;
}

export const DEFAULT_PAIR_SHARD_LIMITS: Readonly<PairShardLimits> = Object.freeze({
  maxSamples: 100_000,
  maxEntries: 400_000,
  maxImageBytes: 16 * 1024 * 1024,
  maxCaptionBytes: 8 * 1024,
  maxJsonBytes: 64 * 1024,
});

export interface PairShardContents {
  /** Sorted by key. */
  samples: PairSample[];
  /** Entries skipped: directories and unknown extensions, by extension ("dir" for directories). */
  skippedEntries: Record<string, number>;
  /** Keys whose caption was empty after cleaning (their samples are left out). */
  emptyCaptions: string[];
}

/** Caption text as stored: control characters and whitespace runs become one space, trimmed. */
export function normalizeCaption(text: string): string {
  return text.replace(/[\p{Cc}\s]+/gu, ' ').trim();
}

/** JSON with object keys sorted at every level, so equal metadata gives equal bytes. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

export interface PairSampleInput {
  key: string;
  image: Uint8Array;
  ext: PairImageExt;
  caption: string;
  meta: Record<string, unknown>;
}

/** Pack pairs as `{key}.{ext}`, `{key}.json`, `{key}.txt` (caption normalized); refuses what the reader would refuse. */
export async function packPairShard(samples: readonly PairSampleInput[], limits: Partial<PairShardLimits> = {}): Promise<Uint8Array> {
  const lim = { ...DEFAULT_PAIR_SHARD_LIMITS, ...limits };
  if (samples.length > lim.maxSamples) throw new Error(`${samples.length} samples, more than ${lim.maxSamples} in one shard`);
  const encoder = new TextEncoder();
  const seen = new Set<string>();
  const entries: { key: string; name: string; data: Uint8Array }[] = [];
  for (const s of samples) {
    const bad = (why: string) => new Error(`pair sample "${s.key}": ${why}`);
    if (!KEY_PATTERN.test(s.key)) throw bad('key must be 1-128 of [A-Za-z0-9_-], starting with a letter or digit');
    if (seen.has(s.key)) throw bad('duplicate key');
    seen.add(s.key);
    if (!IMAGE_EXTS.has(s.ext)) throw bad(`image extension must be jpg, jpeg, png or webp, not "${s.ext}"`);
    if (s.image.byteLength === 0 || s.image.byteLength > lim.maxImageBytes) throw bad(`image is ${s.image.byteLength} bytes, want 1..${lim.maxImageBytes}`);
    const caption = encoder.encode(normalizeCaption(s.caption));
    if (caption.byteLength === 0 || caption.byteLength > lim.maxCaptionBytes) throw bad(`caption is ${caption.byteLength} bytes, want 1..${lim.maxCaptionBytes}`);
    const json = encoder.encode(canonicalJson(s.meta));
    if (json.byteLength > lim.maxJsonBytes) throw bad(`metadata is ${json.byteLength} bytes, limit ${lim.maxJsonBytes}`);
    entries.push({ key: s.key, name: `${s.key}.${s.ext}`, data: s.image });
    entries.push({ key: s.key, name: `${s.key}.json`, data: json });
    entries.push({ key: s.key, name: `${s.key}.txt`, data: caption });
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  entries.sort((a, b) => cmp(a.key, b.key) || cmp(a.name, b.name));
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolveDone, reject) => {
    pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    pack.on('end', () => resolveDone());
    pack.on('error', reject);
  });
  for (const entry of entries) {
    await new Promise<void>((res, rej) =>
      pack.entry(
        { name: entry.name, size: entry.data.byteLength, mtime: FIXED_MTIME, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '' },
        Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength),
        (err) => (err ? rej(err) : res()),
      ),
    );
  }
  pack.finalize();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}

type EntryName = { key: string; ext: string } | { error: string };

/** Why a name is unsafe whatever the entry is (nothing is extracted to disk, but such names mark a hostile tar). */
function unsafeName(raw: string): string | undefined {
  if (raw.length > MAX_NAME_LENGTH) return `name longer than ${MAX_NAME_LENGTH} characters`;
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) return 'absolute path';
  if (raw.includes('\\')) return 'backslash in name';
  if (raw.split('/').includes('..')) return 'path traversal ("..")';
  return undefined;
}

/** Split a file's name into (key, extension), or say why it is refused. */
function parseEntryName(raw: string): EntryName {
  const unsafe = unsafeName(raw);
  if (unsafe) return { error: unsafe };
  const name = raw.replace(/^\.\//, '');
  if (name.includes('/')) return { error: 'name in a subdirectory; img2dataset writes flat names such as "000000000.jpg"' };
  const dot = name.indexOf('.');
  const key = dot < 0 ? name : name.slice(0, dot);
  if (!KEY_PATTERN.test(key)) return { error: 'key must be 1-128 of [A-Za-z0-9_-], starting with a letter or digit' };
  return { key, ext: dot < 0 ? '' : name.slice(dot + 1).toLowerCase() };
}

interface Group {
  image?: { ext: PairImageExt; data: Uint8Array };
  txt?: Uint8Array;
  json?: Uint8Array;
}

/** Parse an img2dataset-layout shard, grouping files by key; see the header for what is refused. */
export async function readPairShard(bytes: Uint8Array, shard: string, limits: Partial<PairShardLimits> = {}): Promise<PairShardContents> {
  const lim = { ...DEFAULT_PAIR_SHARD_LIMITS, ...limits };
  if (bytes.byteLength === 0) throw new ShardFormatError(shard, undefined, 'empty file, not a tar archive');
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) throw new ShardFormatError(shard, undefined, 'gzip-compressed; expected an uncompressed tar (as img2dataset writes)');
  const groups = new Map<string, Group>();
  const skipped: Record<string, number> = {};
  await new Promise<void>((resolveDone, reject) => {
    const extract = tar.extract();
    let failed = false;
    let entries = 0;
    let last: string | undefined;
    /** The entry whose data is being read, if any: a tar that ends here is cut inside it. */
    let reading: string | undefined;
    const fail = (key: string | undefined, message: string) => {
      if (failed) return;
      failed = true;
      reject(new ShardFormatError(shard, key, message));
      extract.destroy();
    };
    extract.on('entry', (header, stream, next) => {
      const where = header.name;
      stream.on('error', (err: Error) => fail(where, `truncated tar: ${where} is cut short (${err.message})`));
      const skip = (what: string) => {
        skipped[what] = (skipped[what] ?? 0) + 1;
        stream.on('end', () => next());
        stream.resume();
      };
      if (failed) return void stream.resume();
      last = where;
      reading = where;
      stream.on('end', () => {
        reading = undefined;
      });
      if (++entries > lim.maxEntries) return fail(where, `more than ${lim.maxEntries} tar entries`);
      if (header.type === 'directory') {
        const unsafe = unsafeName(header.name);
        return unsafe ? fail(where, `entry "${header.name}" refused: ${unsafe}`) : skip('dir');
      }
      if (header.type !== 'file') return fail(where, `entry is a ${header.type}, expected a regular file`);
      const parsed = parseEntryName(header.name);
      if ('error' in parsed) return fail(where, `entry "${header.name}" refused: ${parsed.error}`);
      const { key, ext } = parsed;
      const kind = IMAGE_EXTS.has(ext) ? 'image' : ext === 'txt' ? 'txt' : ext === 'json' ? 'json' : undefined;
      if (!kind) return skip(ext || '(none)');
      const cap = kind === 'image' ? lim.maxImageBytes : kind === 'txt' ? lim.maxCaptionBytes : lim.maxJsonBytes;
      const size = header.size ?? 0;
      if (size > cap) return fail(key, `${header.name} is ${size} bytes, over the ${kind === 'image' ? 'image' : kind === 'txt' ? 'caption' : 'metadata'} cap of ${cap}`);
      const group = groups.get(key) ?? {};
      if (kind === 'image' && group.image) return fail(key, `two images (.${group.image.ext} and .${ext})`);
      if (kind !== 'image' && group[kind]) return fail(key, `duplicate .${kind}`);
      if (!groups.has(key) && groups.size >= lim.maxSamples) return fail(key, `more than ${lim.maxSamples} samples`);
      groups.set(key, group);
      const parts: Buffer[] = [];
      stream.on('data', (chunk: unknown) => parts.push(chunk as Buffer));
      stream.on('end', () => {
        const data = new Uint8Array(Buffer.concat(parts));
        if (kind === 'image') group.image = { ext: ext as PairImageExt, data };
        else group[kind] = data;
        next();
      });
    });
    extract.on('finish', () => resolveDone());
    extract.on('error', (err: Error) => {
      if (reading) fail(reading, `truncated tar: ${reading} is cut short (${err.message})`);
      else fail(last, last ? `truncated or corrupt tar after entry ${last} (${err.message})` : `not a tar archive (${err.message})`);
    });
    extract.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const samples: PairSample[] = [];
  const emptyCaptions: string[] = [];
  for (const key of [...groups.keys()].sort()) {
    const group = groups.get(key)!;
    if (!group.image) throw new ShardFormatError(shard, key, `${group.txt ? 'caption' : 'metadata'} without an image (.jpg, .jpeg, .png or .webp)`);
    if (!group.txt) throw new ShardFormatError(shard, key, `image without a caption (${key}.txt)`);
    let caption: string;
    try {
      caption = normalizeCaption(utf8.decode(group.txt));
    } catch {
      throw new ShardFormatError(shard, key, 'caption is not valid UTF-8');
    }
    if (caption.length === 0) {
      emptyCaptions.push(key);
      continue;
    }
    samples.push({ key, image: group.image.data, ext: group.image.ext, caption, meta: group.json ? parseMeta(group.json, shard, key) : {} });
  }
  return { samples, skippedEntries: skipped, emptyCaptions };
}

/** The samples of an img2dataset-layout shard (readPairShard without the skip counts). */
export async function unpackPairShard(bytes: Uint8Array, shard: string, limits: Partial<PairShardLimits> = {}): Promise<PairSample[]> {
  return (await readPairShard(bytes, shard, limits)).samples;
}

/** `{key}.json`: a JSON object; bare NaN/Infinity (Python's json for missing floats) read as null. */
function parseMeta(bytes: Uint8Array, shard: string, key: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ShardFormatError(shard, key, 'metadata is not valid UTF-8');
  }
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch {
    try {
      meta = JSON.parse(text.replace(/"(?:[^"\\]|\\.)*"|-?\b(?:NaN|Infinity)\b/g, (m) => (m.startsWith('"') ? m : 'null')));
    } catch (err) {
      throw new ShardFormatError(shard, key, `metadata is not valid JSON (${(err as Error).message})`);
    }
  }
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) throw new ShardFormatError(shard, key, 'metadata is not a JSON object');
  return meta as Record<string, unknown>;
}

export interface DecodePairImageOptions {
  /** Output side; default 28 (Fashion-MNIST). */
  side?: number;
  /** Images whose header claims more pixels are refused before decoding; default 4096 x 4096. */
  maxPixels?: number;
}

export const DEFAULT_MAX_PAIR_IMAGE_PIXELS = 4096 * 4096;

/** PNG, JPEG or WebP bytes -> side x side grey (image-resize.ts: header pixel cap first, then cover-resize). */
export async function decodePairImage(bytes: Uint8Array, where: string, opts: DecodePairImageOptions = {}): Promise<Uint8Array> {
  try {
    const { pixels } = await toGrayPixels(bytes, { side: opts.side ?? IMAGE_SIDE, maxPixels: opts.maxPixels ?? DEFAULT_MAX_PAIR_IMAGE_PIXELS });
    return pixels;
  } catch (err) {
    if (err instanceof UnusableImageError) throw new MalformedImageError(`${where}: ${err.message}`);
    throw err;
  }
}

/** Decode a shard's images into one n x side x side array, `concurrency` at a time (default 4). */
export async function decodePairImages(
  samples: readonly PairSample[],
  shard: string,
  opts: DecodePairImageOptions & { concurrency?: number } = {},
): Promise<Uint8Array> {
  const side = opts.side ?? IMAGE_SIDE;
  const out = new Uint8Array(samples.length * side * side);
  let next = 0;
  const worker = async () => {
    while (next < samples.length) {
      const i = next++;
      const s = samples[i]!;
      out.set(await decodePairImage(s.image, `${shard} [${s.key}]`, opts), i * side * side);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 4, samples.length)) }, worker));
  return out;
}

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
