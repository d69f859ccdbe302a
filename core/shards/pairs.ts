// Image-caption pairs in WebDataset tar shards, in the layout img2dataset writes: per sample
// `{key}.jpg|jpeg|png|webp` (the image), `{key}.txt` (its caption, UTF-8) and `{key}.json` (its
// metadata: img2dataset writes url, key, caption, status, width, height, ...). This is how a lab
// brings its own LAION/CC subset, and how the embedded Fashion-MNIST pairs are stored
// (captioned-pairs.ts). The tar itself is read and written by tar.ts.
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
import { MalformedImageError } from '../png.js';
import { FASHION_MNIST_GEOMETRY, pixelsPerImage, type ImageGeometry } from '../image/geometry.js';
import { toGeometryPixels, UnusableImageError } from '../image/resize.js';
import { packTar, readTar, ShardFormatError, unsafeName, type TarEntryPlan, type TarLayout } from './tar.js';

export type PairImageExt = 'jpg' | 'jpeg' | 'png' | 'webp';
const IMAGE_EXTS: ReadonlySet<string> = new Set<PairImageExt>(['jpg', 'jpeg', 'png', 'webp']);
const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

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
  return packTar(entries);
}

type EntryName = { key: string; ext: string } | { error: string };

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

/** A file readPairShard reads: the image (with its extension), the caption or the metadata. */
interface PairPart extends TarEntryPlan {
  part: 'image' | 'txt' | 'json';
  ext: string;
}

/** img2dataset's layout for readTar: images, captions and metadata read, other files skipped, names shown as they are. */
function pairLayout(lim: PairShardLimits): TarLayout<PairPart> {
  return {
    gzipNote: ' (as img2dataset writes)',
    label: (name) => name,
    maxSamples: lim.maxSamples,
    maxEntries: lim.maxEntries,
    skipDirectories: true,
    cutShortWhileOpen: true,
    classify(name) {
      const parsed = parseEntryName(name);
      if ('error' in parsed) return { refuse: `entry "${name}" refused: ${parsed.error}` };
      const { key, ext } = parsed;
      const part = IMAGE_EXTS.has(ext) ? 'image' : ext === 'txt' ? 'txt' : ext === 'json' ? 'json' : undefined;
      if (!part) return { skip: ext || '(none)' };
      return { key, part, ext, maxBytes: part === 'image' ? lim.maxImageBytes : part === 'txt' ? lim.maxCaptionBytes : lim.maxJsonBytes };
    },
    notAFile: (_label, type) => `entry is a ${type}, expected a regular file`,
    cutShort: (label) => `truncated tar: ${label} is cut short`,
    tooBig: (plan, name, size) => `${name} is ${size} bytes, over the ${{ image: 'image', txt: 'caption', json: 'metadata' }[plan.part]} cap of ${plan.maxBytes}`,
    duplicate: (plan, _name, first) => (plan.part === 'image' ? `two images (.${first.plan.ext} and .${plan.ext})` : `duplicate .${plan.part}`),
  };
}

/** Parse an img2dataset-layout shard, grouping files by key; see the header for what is refused. */
export async function readPairShard(bytes: Uint8Array, shard: string, limits: Partial<PairShardLimits> = {}): Promise<PairShardContents> {
  const { groups, skipped } = await readTar(bytes, shard, pairLayout({ ...DEFAULT_PAIR_SHARD_LIMITS, ...limits }));
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const samples: PairSample[] = [];
  const emptyCaptions: string[] = [];
  for (const key of [...groups.keys()].sort()) {
    const group = groups.get(key)!;
    const image = group.get('image');
    const txt = group.get('txt')?.data;
    const json = group.get('json')?.data;
    if (!image) throw new ShardFormatError(shard, key, `${txt ? 'caption' : 'metadata'} without an image (.jpg, .jpeg, .png or .webp)`);
    if (!txt) throw new ShardFormatError(shard, key, `image without a caption (${key}.txt)`);
    let caption: string;
    try {
      caption = normalizeCaption(utf8.decode(txt));
    } catch {
      throw new ShardFormatError(shard, key, 'caption is not valid UTF-8');
    }
    if (caption.length === 0) {
      emptyCaptions.push(key);
      continue;
    }
    samples.push({ key, image: image.data, ext: image.plan.ext as PairImageExt, caption, meta: json ? parseMeta(json, shard, key) : {} });
  }
  return { samples, skippedEntries: skipped, emptyCaptions };
}

/** The samples of an img2dataset-layout shard (readPairShard without the skip counts). */
export async function unpackPairShard(bytes: Uint8Array, shard: string, limits: Partial<PairShardLimits> = {}): Promise<PairSample[]> {
  return (await readPairShard(bytes, shard, limits)).samples;
}

/**
 * `{key}.json` of a pair: a JSON object; bare NaN/Infinity (Python's json for missing floats) read
 * as null. The reason it is not one, else the object (shared with the preflight check, ./check-layouts.ts).
 */
export function pairMetaOf(bytes: Uint8Array): { meta: Record<string, unknown> } | { problem: string } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { problem: 'metadata is not valid UTF-8' };
  }
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch {
    try {
      meta = JSON.parse(text.replace(/"(?:[^"\\]|\\.)*"|-?\b(?:NaN|Infinity)\b/g, (m) => (m.startsWith('"') ? m : 'null')));
    } catch (err) {
      return { problem: `metadata is not valid JSON (${(err as Error).message})` };
    }
  }
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) return { problem: 'metadata is not a JSON object' };
  return { meta: meta as Record<string, unknown> };
}

function parseMeta(bytes: Uint8Array, shard: string, key: string): Record<string, unknown> {
  const parsed = pairMetaOf(bytes);
  if ('problem' in parsed) throw new ShardFormatError(shard, key, parsed.problem);
  return parsed.meta;
}

export interface DecodePairImageOptions {
  /** Output geometry (the sweep's); default 28x28 grey (Fashion-MNIST). */
  geometry?: ImageGeometry;
  /** Output side of a grey image when no geometry is given (legacy); default 28. */
  side?: number;
  /** Images whose header claims more pixels are refused before decoding; default 4096 x 4096. */
  maxPixels?: number;
}

export const DEFAULT_MAX_PAIR_IMAGE_PIXELS = 4096 * 4096;

function pairGeometry(opts: DecodePairImageOptions): ImageGeometry {
  return opts.geometry ?? (opts.side === undefined ? FASHION_MNIST_GEOMETRY : { size: opts.side, channels: 1 });
}

/** PNG, JPEG or WebP bytes -> the geometry (resize.ts toGeometryPixels: header pixel cap first, then the cover resize rule). */
export async function decodePairImage(bytes: Uint8Array, where: string, opts: DecodePairImageOptions = {}): Promise<Uint8Array> {
  try {
    const { pixels } = await toGeometryPixels(bytes, { geometry: pairGeometry(opts), maxPixels: opts.maxPixels ?? DEFAULT_MAX_PAIR_IMAGE_PIXELS });
    return pixels;
  } catch (err) {
    if (err instanceof UnusableImageError) throw new MalformedImageError(`${where}: ${err.message}`);
    throw err;
  }
}

/** Decode a shard's images into one array of n images at the geometry, `concurrency` at a time (default 4). */
export async function decodePairImages(
  samples: readonly PairSample[],
  shard: string,
  opts: DecodePairImageOptions & { concurrency?: number } = {},
): Promise<Uint8Array> {
  const per = pixelsPerImage(pairGeometry(opts));
  const out = new Uint8Array(samples.length * per);
  let next = 0;
  const worker = async () => {
    while (next < samples.length) {
      const i = next++;
      const s = samples[i]!;
      out.set(await decodePairImage(s.image, `${shard} [${s.key}]`, opts), i * per);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 4, samples.length)) }, worker));
  return out;
}
