// A lab's labelled WebDataset shards as untrusted input: per sample `{key}.{png,jpg,jpeg,webp}` and
// a label, the text of `{key}.cls` (timm / open_clip; an integer class index or a class name) or
// a field of `{key}.json` (img2dataset output with a label column; a JSON integer is an index, a
// string a name). Shard URIs are file:// or gs:// with WebDataset brace ranges
// (core/external-object.ts expandBraces), each checked to exist and sized before anything is read
// (over maxShardBytes: refused), then read whole (readExternalObject: bounded, links refused, GCS
// md5-checked) and parsed by the one tar reader (core/shards/tar.ts: unsafe names, links, devices,
// truncation, gzip refused). Keys follow WebDataset: the path up to the first dot of its last part.
//
// Per sample, problems are skips, not errors: no image ('no-image'), no label ('no-label'), a label
// that is not an integer or a usable name ('bad-label'), an image over the file cap
// ('too-large-file'). Whether a label is in the class list is the import's question
// ('label-out-of-range'). A malformed shard as a whole (truncated, two images for one key) is a
// ShardFormatError naming it.
import { lstat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Storage } from '@google-cloud/storage';
import { NotFoundError, ObjectTooLargeError } from '../blob-store.js';
import { ExternalUriError, expandBraces, readExternalObject } from '../external-object.js';
import { defaultGcsClient, metadataOrNull, objectSize, parseGcsObjectUri } from '../gcs-client.js';
import { entryLabel, readTar, unsafeName, type TarEntryPlan, type TarLayout } from '../shards/tar.js';
import { DatasetInputError, shownName, type ImportSkipReason } from './imagefolder.js';

export { ShardFormatError } from '../shards/tar.js';

/** A shard to read, with what changes with its content (the import's listing key). */
export interface ShardInput {
  uri: string;
  size: number;
  /** file://: size + mtime; gs://: generation + md5 (or crc32c) + size. */
  stamp: string;
}

/** A label as written: an integer class index or a class name. */
export type RawLabel = { index: number } | { name: string };

export interface LabelledSample {
  key: string;
  image?: Uint8Array;
  label?: RawLabel;
  skip?: { reason: ImportSkipReason; message: string };
}

const IMAGE_EXTS: ReadonlySet<string> = new Set(['png', 'jpg', 'jpeg', 'webp']);
const MAX_LABEL_BYTES = 4096;
const MAX_JSON_BYTES = 1024 * 1024;
const MAX_NAME_LENGTH = 200;

/** Expand `patterns` (in order) and check each shard exists and is at most `maxShardBytes`; `where` names the spec field. */
export async function listShardInputs(patterns: readonly string[], maxShardBytes: number, where: string, storage?: Storage): Promise<ShardInput[]> {
  let uris: string[];
  try {
    uris = patterns.flatMap((p) => expandBraces(p));
  } catch (err) {
    throw new DatasetInputError(`${where}: ${(err as Error).message}`);
  }
  const seen = new Set<string>();
  for (const uri of uris) {
    if (seen.has(uri)) throw new DatasetInputError(`${where}: shard ${shownName(uri)} is listed twice`);
    seen.add(uri);
  }
  const out: ShardInput[] = [];
  for (let i = 0; i < uris.length; i += 16) {
    out.push(...(await Promise.all(uris.slice(i, i + 16).map((uri) => statShard(uri, maxShardBytes, where, storage)))));
  }
  return out;
}

async function statShard(uri: string, maxShardBytes: number, where: string, storage?: Storage): Promise<ShardInput> {
  const bad = (why: string) => new DatasetInputError(`${where}: shard ${shownName(uri)} ${why}`);
  let size: number;
  let stamp: string;
  if (uri.startsWith('file://')) {
    let path: string;
    try {
      path = fileURLToPath(uri);
    } catch (err) {
      throw bad(`is not a usable file:// URI (${(err as Error).message}); write file:///absolute/path`);
    }
    const info = await lstat(path, { bigint: true }).catch((err: NodeJS.ErrnoException) => {
      throw bad(err.code === 'ENOENT' ? 'does not exist (check the shard list and its {000..009} ranges)' : `cannot be examined (${err.code})`);
    });
    if (!info.isFile()) throw bad('is not a regular file (links and devices are refused)');
    size = Number(info.size);
    stamp = `${size}:${info.mtimeNs}`;
  } else if (uri.startsWith('gs://')) {
    let object: { bucket: string; name: string };
    try {
      object = parseGcsObjectUri(uri);
    } catch (err) {
      throw new DatasetInputError(`${where}: ${(err as Error).message}`);
    }
    const client = storage ?? (await defaultGcsClient());
    const meta = await metadataOrNull(client.bucket(object.bucket).file(object.name));
    if (!meta) throw bad('does not exist (check the shard list and its {000..009} ranges)');
    size = objectSize(meta);
    stamp = `${String(meta.generation ?? '')}:${String(meta.md5Hash ?? meta.crc32c ?? '')}:${size}`;
  } else {
    throw bad('has an unsupported scheme; use file:// or gs://');
  }
  if (size > maxShardBytes) throw bad(`is ${size} bytes, over maxShardBytes (${maxShardBytes}); raise maxShardBytes if the shard is genuine`);
  return { uri, size, stamp };
}

/** The bytes of a listed shard (at most `maxShardBytes`); a shard gone or grown since listing is a DatasetInputError. */
export async function readShardBytes(uri: string, maxShardBytes: number, where: string): Promise<Uint8Array> {
  try {
    return await readExternalObject(uri, { maxBytes: maxShardBytes });
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof ExternalUriError) throw new DatasetInputError(`${where}: ${err.message}`);
    if (err instanceof ObjectTooLargeError) throw new DatasetInputError(`${where}: ${err.message}; raise maxShardBytes if the shard is genuine`);
    throw err;
  }
}

interface LabelledPart extends TarEntryPlan {
  part: 'image' | 'label';
  ext: string;
}

/** Split an entry name into WebDataset's key and extension, or say why it is refused. */
function parseName(raw: string): { key: string; ext: string } | { refuse: string } | { skip: string } {
  const unsafe = unsafeName(raw);
  if (unsafe) return { refuse: unsafe };
  const name = raw.replace(/^\.\//, '');
  const slash = name.lastIndexOf('/');
  const base = name.slice(slash + 1);
  if (base.startsWith('.') || base === '') return { skip: 'hidden' };
  const dot = base.indexOf('.');
  if (dot <= 0) return { skip: '(none)' };
  return { key: name.slice(0, slash + 1 + dot), ext: base.slice(dot + 1).toLowerCase() };
}

function labelledLayout(label: string, maxEntryBytes: number): TarLayout<LabelledPart> {
  const labelExt = label === 'cls' ? 'cls' : 'json';
  return {
    gzipNote: ' (WebDataset shards are plain .tar files)',
    label: entryLabel,
    maxSamples: 1_000_000,
    maxEntries: 4_000_000,
    skipDirectories: true,
    requireEndMarker: true,
    classify(name) {
      const parsed = parseName(name);
      if ('refuse' in parsed) return { refuse: `entry ${entryLabel(name)} refused: ${parsed.refuse}` };
      if ('skip' in parsed) return parsed;
      const { key, ext } = parsed;
      if (IMAGE_EXTS.has(ext)) return { key, part: 'image', ext, maxBytes: maxEntryBytes };
      if (ext === labelExt) return { key, part: 'label', ext, maxBytes: ext === 'cls' ? MAX_LABEL_BYTES : MAX_JSON_BYTES };
      return { skip: ext };
    },
    notAFile: (name, type) => `entry ${name} is a ${type}, expected a regular file`,
    cutShort: (name) => `truncated tar: entry ${name} is cut short`,
    tooBig: (plan, name, size) => `entry ${name} declares ${size} bytes, over the .${plan.ext} cap of ${plan.maxBytes}`,
    duplicate: (plan, name, first) => (plan.part === 'image' ? `two images for one key (.${first.plan.ext} and ${name})` : `duplicate label entry ${name}`),
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A label name as stored: trimmed, 1-200 characters, no control characters; else undefined. */
function labelName(text: string): string | undefined {
  const name = text.trim();
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && !/\p{Cc}/u.test(name) ? name : undefined;
}

/** The label of a sample from its `.cls` text or `.json` field, or the reason it has none. */
export function parseLabel(data: Uint8Array, field: string): RawLabel | { reason: ImportSkipReason; message: string } {
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return { reason: 'bad-label', message: `.${field === 'cls' ? 'cls' : 'json'} is not valid UTF-8` };
  }
  if (field === 'cls') {
    const t = text.trim();
    if (/^[+-]?\d{1,12}$/.test(t)) return { index: Number(t) };
    const name = labelName(t);
    return name ? { name } : { reason: t === '' ? 'no-label' : 'bad-label', message: t === '' ? '.cls is empty' : `.cls is not a class index or a usable name: "${shownName(t, 60)}"` };
  }
  let value: unknown;
  try {
    value = (JSON.parse(text) as Record<string, unknown> | null)?.[field];
  } catch {
    return { reason: 'bad-label', message: '.json is not valid JSON' };
  }
  if (value === undefined || value === null) return { reason: 'no-label', message: `.json has no field "${shownName(field)}"` };
  if (typeof value === 'number' && Number.isSafeInteger(value)) return { index: value };
  const name = typeof value === 'string' ? labelName(value) : undefined;
  return name ? { name } : { reason: 'bad-label', message: `.json field "${shownName(field)}" is neither an integer nor a usable class name` };
}

export interface LabelledShardOptions {
  /** 'cls' or the `{key}.json` field holding the label. */
  label: string;
  /** Larger images are skipped ('too-large-file'). */
  maxImageBytes: number;
}

/** Parse one labelled shard: its samples in tar order (problems as skips), and the entries it skipped by extension. */
export async function readLabelledShard(bytes: Uint8Array, uri: string, opts: LabelledShardOptions): Promise<{ samples: LabelledSample[]; skippedEntries: Record<string, number> }> {
  const { groups, skipped } = await readTar(bytes, uri, labelledLayout(opts.label, Math.max(bytes.byteLength, 1)));
  const samples: LabelledSample[] = [];
  for (const [key, group] of groups) {
    const image = group.get('image')?.data;
    const labelData = group.get('label')?.data;
    const where = opts.label === 'cls' ? `${key}.cls` : `${key}.json`;
    if (!image) {
      samples.push({ key, skip: { reason: 'no-image', message: `a label without an image (${key}.png, .jpg, .jpeg or .webp)` } });
      continue;
    }
    if (image.byteLength > opts.maxImageBytes) {
      samples.push({ key, skip: { reason: 'too-large-file', message: `image of ${image.byteLength} bytes, over the cap of ${opts.maxImageBytes}` } });
      continue;
    }
    if (!labelData) {
      samples.push({ key, skip: { reason: 'no-label', message: `an image without its label (${where})` } });
      continue;
    }
    const label = parseLabel(labelData, opts.label);
    if ('reason' in label) samples.push({ key, skip: label });
    else samples.push({ key, image, label });
  }
  return { samples, skippedEntries: skipped };
}
