// A lab's image folder, `root/<split>/<class>/<file>.{png,jpg,jpeg,webp}` (the torchvision
// ImageFolder / ImageNet layout), listed and read as untrusted input from a local path, a file://
// URI or a gs:// prefix. The import stage (activities/datasets) maps class folders to classes,
// decodes (core/image/fit-geometry.ts) and stores; this module only says what is there.
//
// Listing rules: hidden names (a leading '.') are ignored everywhere; files with an image extension
// (any case) are inputs; obvious metadata (.txt, .json, .csv, .xml, README, ...) is ignored; any
// other file is an input skipped as 'not-an-image'. Inputs are ordered by class folder, then file
// name (code-unit order, no locale). Refused while listing, each counted as a skipped input: a
// symbolic link resolving outside the root ('outside-root', by realpath), a folder inside a class
// folder ('nested-folder', one per folder, not read), a fifo/device/socket ('not-a-file'), an image
// directly in the split folder ('no-class-folder'), a file over the size cap ('too-large-file').
// Errors (DatasetInputError, naming the path and the fix): a missing root or split folder (with the
// splits found), a class folder without images, a split or class folder linked outside the root.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { File, Storage } from '@google-cloud/storage';
import { ChecksumMismatchError, NotFoundError, ObjectTooLargeError } from '../blob-store.js';
import { defaultGcsClient, downloadBounded, parseBucket } from '../gcs-client.js';
import { SkippedInputError, type ImageSkipReason } from '../image/fit-geometry.js';

/** Every reason an import skips an input (counted against the skip budget). */
export type ImportSkipReason = ImageSkipReason | 'outside-root' | 'not-a-file' | 'nested-folder' | 'no-class-folder' | 'no-image' | 'no-label' | 'bad-label' | 'label-out-of-range';

/** The dataset as given cannot be imported (bad input: retrying cannot help); the message names the path and the fix. */
export class DatasetInputError extends Error {
  readonly code = 'E_DATASET_INPUT';
}

/** Largest single image file read (bigger ones are skipped as 'too-large-file' before reading). */
export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;

/** A name from the input as messages and examples show it: control characters escaped, at most `max` characters. */
export function shownName(text: string, max = 200): string {
  const escaped = JSON.stringify(text).slice(1, -1);
  return escaped.length > max ? `${escaped.slice(0, max)}...(${text.length} chars)` : escaped;
}

const IMAGE_EXT = /\.(png|jpe?g|webp)$/i;
const METADATA = /\.(txt|json|jsonl|csv|tsv|xml|md|ya?ml|ini|db|log)$|^(readme|license|licence|copying)(\..*)?$/i;

/** What a directory entry's name says it is. */
export function nameKind(name: string): 'hidden' | 'image' | 'metadata' | 'other' {
  if (name.startsWith('.')) return 'hidden';
  if (IMAGE_EXT.test(name)) return 'image';
  return METADATA.test(name) ? 'metadata' : 'other';
}

/** One input of a split: a file to read, or one refused while listing (`skip`). */
export interface FolderEntry {
  /** `<split>/<class folder>/<name>` relative to the root: the item id (a trailing '/' for a folder). */
  id: string;
  classFolder: string;
  name: string;
  size: number;
  /** What changes with the content, for the import's listing key: local size + mtime, GCS generation + md5. */
  stamp: string;
  /** Local: the real path; GCS: the object name. */
  ref: string;
  generation?: string;
  md5?: string;
  skip?: { reason: ImportSkipReason; message: string };
}

export interface FolderSplit {
  split: string;
  /** Class folders, sorted. */
  classFolders: string[];
  /** Inputs sorted by class folder, then name; images directly in the split folder first (class ''). */
  entries: FolderEntry[];
}

export interface ImageFolder {
  /** The root as given (path or URI). */
  root: string;
  splits: Record<string, FolderSplit>;
  /** Read one entry's bytes (at most maxFileBytes); throws SkippedInputError ('unreadable', 'too-large-file', 'not-a-file'). */
  read(entry: FolderEntry): Promise<Uint8Array>;
}

export interface ImageFolderOptions {
  maxFileBytes?: number;
  /** GCS client (default: the shared one, STORAGE_EMULATOR_HOST honoured). */
  storage?: Storage;
}

/** List the requested splits of the folder at `root` (path, file:// or gs://). */
export async function openImageFolder(root: string, splits: readonly string[], opts: ImageFolderOptions = {}): Promise<ImageFolder> {
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (root.startsWith('gs://')) return openGcsFolder(root, splits, maxFileBytes, opts.storage);
  let path: string;
  try {
    path = root.startsWith('file://') ? fileURLToPath(root) : resolve(root);
  } catch (err) {
    throw new DatasetInputError(`${root}: not a usable file:// URI (${(err as Error).message}); write file:///absolute/path`);
  }
  return openLocalFolder(root, path, splits, maxFileBytes);
}

function byClassThenName(a: FolderEntry, b: FolderEntry): number {
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return cmp(a.classFolder, b.classFolder) || cmp(a.name, b.name);
}

const NESTED = 'a folder inside a class folder (not read: images go directly in the class folder)';
const NO_CLASS = 'image directly in the split folder, not in a class folder';
const NOT_IMAGE = 'not a .png, .jpg, .jpeg or .webp file';

function skipEntry(split: string, classFolder: string, name: string, reason: ImportSkipReason, message: string, size = 0): FolderEntry {
  const id = classFolder ? `${split}/${classFolder}/${name}` : `${split}/${name}`;
  return { id, classFolder, name, size, stamp: '', ref: '', skip: { reason, message } };
}

/** Checks shared by both backends once a split's entries are known: every class folder has an image. */
function finishSplit(where: string, split: string, classFolders: string[], entries: FolderEntry[]): FolderSplit {
  entries.sort(byClassThenName);
  const usable = new Set<string>();
  const refused = new Map<string, Set<string>>();
  for (const e of entries) {
    if (!e.skip) usable.add(e.classFolder);
    else refused.set(e.classFolder, (refused.get(e.classFolder) ?? new Set()).add(e.skip.reason));
  }
  for (const folder of classFolders.filter((f) => !usable.has(f))) {
    const reasons = [...(refused.get(folder) ?? [])];
    const why = reasons.length ? ` (entries refused: ${reasons.join(', ')})` : '';
    throw new DatasetInputError(`class folder ${where}/${split}/${shownName(folder)} has no PNG, JPEG or WebP images${why}: a class without images cannot be trained or evaluated; add images or remove the folder`);
  }
  return { split, classFolders, entries };
}

function missingSplit(where: string, split: string, found: string[]): DatasetInputError {
  return new DatasetInputError(
    `no split folder '${shownName(split)}' at ${where}/${shownName(split)} (split folders found: ${found.length ? found.map((s) => shownName(s)).join(', ') : 'none'}); the layout is root/<split>/<class>/<image>`,
  );
}

// ---- local folders ----

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

async function openLocalFolder(root: string, path: string, splits: readonly string[], maxFileBytes: number): Promise<ImageFolder> {
  const realRoot = await realpath(path).catch((err: unknown) => {
    throw new DatasetInputError(`root ${root} ${errCode(err) === 'ENOENT' ? 'does not exist' : `cannot be read (${errCode(err)})`}`);
  });
  const inside = (real: string) => real === realRoot || real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep);
  const top = await readdir(realRoot, { withFileTypes: true }).catch((err: unknown) => {
    throw new DatasetInputError(`root ${root} is not a readable folder (${errCode(err)})`);
  });
  const found = top.filter((d) => nameKind(d.name) !== 'hidden' && (d.isDirectory() || d.isSymbolicLink())).map((d) => d.name).sort();
  const result: Record<string, FolderSplit> = {};
  for (const split of splits) {
    if (!found.includes(split)) throw missingSplit(root, split, found);
    const realSplit = await realpath(join(realRoot, split)).catch(() => '');
    if (!realSplit || !inside(realSplit) || !(await stat(realSplit)).isDirectory()) throw missingSplit(root, split, found.filter((s) => s !== split));
    const classFolders: string[] = [];
    const entries: FolderEntry[] = [];
    for (const d of await readdir(realSplit, { withFileTypes: true })) {
      const kind = nameKind(d.name);
      if (kind === 'hidden') continue;
      const real = d.isSymbolicLink() ? await realpath(join(realSplit, d.name)).catch(() => '') : join(realSplit, d.name);
      const isDir = real !== '' && (d.isDirectory() || (d.isSymbolicLink() && (await stat(real)).isDirectory()));
      if (isDir) {
        if (!inside(real)) throw new DatasetInputError(`class folder ${root}/${split}/${shownName(d.name)} is a link to ${shownName(real)}, outside the root: copy the images in, or point root at the folder that holds them`);
        classFolders.push(d.name);
        entries.push(...(await listLocalClass(root, split, d.name, real, inside, maxFileBytes)));
      } else if (kind === 'image') {
        entries.push(skipEntry(split, '', d.name, 'no-class-folder', NO_CLASS));
      }
    }
    classFolders.sort();
    result[split] = finishSplit(root, split, classFolders, entries);
  }
  return { root, splits: result, read: (entry) => readLocalFile(entry, maxFileBytes) };
}

async function listLocalClass(root: string, split: string, folder: string, dir: string, inside: (real: string) => boolean, maxFileBytes: number): Promise<FolderEntry[]> {
  const dirents = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
    throw new DatasetInputError(`class folder ${root}/${split}/${shownName(folder)} cannot be read (${errCode(err)}): fix its permissions`);
  });
  const entry = async (d: (typeof dirents)[number]): Promise<FolderEntry | undefined> => {
    const kind = nameKind(d.name);
    if (kind === 'hidden' || (kind === 'metadata' && !d.isDirectory())) return undefined;
    const skip = (reason: ImportSkipReason, message: string) => skipEntry(split, folder, d.name, reason, message);
    let real = join(dir, d.name);
    if (d.isSymbolicLink()) {
      real = await realpath(real).catch(() => '');
      if (!real) return skip('unreadable', 'a symbolic link whose target does not exist');
      if (!inside(real)) return skip('outside-root', 'a symbolic link resolving outside the root');
    }
    const info = await stat(real, { bigint: true }).catch(() => undefined);
    if (!info) return skip('unreadable', 'cannot be examined (stat failed)');
    if (info.isDirectory()) return skipEntry(split, folder, `${d.name}/`, 'nested-folder', NESTED);
    if (!info.isFile()) return skip('not-a-file', 'not a regular file (fifo, socket or device)');
    if (kind !== 'image') return skip('not-an-image', NOT_IMAGE);
    const size = Number(info.size);
    if (size > maxFileBytes) return { ...skip('too-large-file', `${size} bytes, over the cap of ${maxFileBytes}`), size };
    return { id: `${split}/${folder}/${d.name}`, classFolder: folder, name: d.name, size, stamp: `${size}:${info.mtimeNs}`, ref: real };
  };
  const out: FolderEntry[] = [];
  for (let i = 0; i < dirents.length; i += 64) {
    for (const e of await Promise.all(dirents.slice(i, i + 64).map(entry))) if (e) out.push(e);
  }
  return out;
}

/** Errors of opening a listed file that make it a skipped input. */
const OPEN_SKIPS: Record<string, [ImportSkipReason, string]> = {
  EACCES: ['unreadable', 'permission denied'],
  EPERM: ['unreadable', 'permission denied'],
  ENOENT: ['unreadable', 'vanished since it was listed'],
  ELOOP: ['unreadable', 'became a symbolic link since it was listed'],
  EISDIR: ['not-a-file', 'became a folder since it was listed'],
  EIO: ['unreadable', 'read failed (EIO)'],
};

async function readLocalFile(entry: FolderEntry, maxBytes: number): Promise<Uint8Array> {
  const asSkip = (err: unknown) => {
    const skip = OPEN_SKIPS[errCode(err) ?? ''];
    throw skip ? new SkippedInputError(...skip) : err;
  };
  const handle = await open(entry.ref, constants.O_RDONLY | constants.O_NOFOLLOW).catch(asSkip);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new SkippedInputError('not-a-file', 'not a regular file');
    if (info.size > maxBytes) throw new SkippedInputError('too-large-file', `${info.size} bytes, over the cap of ${maxBytes}`);
    const buf = Buffer.alloc(info.size);
    let offset = 0;
    for (let n = -1; offset < info.size && n !== 0; offset += n) n = (await handle.read(buf, offset, info.size - offset, offset).catch(asSkip)).bytesRead;
    return new Uint8Array(buf.buffer, buf.byteOffset, offset);
  } finally {
    await handle.close();
  }
}

// ---- gs:// folders ----

async function openGcsFolder(root: string, splits: readonly string[], maxFileBytes: number, storage?: Storage): Promise<ImageFolder> {
  let parsed: { bucket: string; rest: string };
  try {
    parsed = parseBucket(root.replace(/\/+$/, ''), 'root');
  } catch (err) {
    throw new DatasetInputError((err as Error).message);
  }
  const prefix = parsed.rest ? `${parsed.rest}/` : '';
  const bucket = (storage ?? (await defaultGcsClient())).bucket(parsed.bucket);
  const where = root.replace(/\/+$/, '');
  const result: Record<string, FolderSplit> = {};
  for (const split of splits) {
    const folders = new Set<string>();
    const nested = new Set<string>();
    const entries: FolderEntry[] = [];
    for await (const file of listObjects(bucket, `${prefix}${split}/`)) {
      const parts = file.name.slice(prefix.length + split.length + 1).split('/');
      if (parts.some((p) => p.startsWith('.'))) continue;
      if (parts.length === 1) {
        if (nameKind(parts[0]!) === 'image') entries.push(skipEntry(split, '', parts[0]!, 'no-class-folder', NO_CLASS));
        continue;
      }
      const [folder, name] = parts as [string, string];
      if (folder === '') continue;
      folders.add(folder);
      if (parts.length > 2 || name === '') {
        if (parts.length > 2 && !nested.has(`${folder}/${name}`)) {
          nested.add(`${folder}/${name}`);
          entries.push(skipEntry(split, folder, `${name}/`, 'nested-folder', NESTED));
        }
        continue; // name === '': the console's placeholder object of an (empty) folder
      }
      const e = gcsEntry(split, folder, name, file, maxFileBytes);
      if (e) entries.push(e);
    }
    if (folders.size === 0 && entries.length === 0) throw missingSplit(where, split, await listSplitNames(bucket, prefix));
    result[split] = finishSplit(where, split, [...folders].sort(), entries);
  }
  const read = async (entry: FolderEntry): Promise<Uint8Array> => {
    const uri = `gs://${parsed.bucket}/${entry.ref}`;
    const file = bucket.file(entry.ref, entry.generation ? { generation: entry.generation } : {});
    let data: Uint8Array;
    try {
      data = await downloadBounded(file, uri, maxFileBytes, entry.md5 ? 'md5' : 'crc32c');
    } catch (err) {
      if (err instanceof NotFoundError) throw new SkippedInputError('unreadable', 'object vanished or was replaced since it was listed');
      if (err instanceof ObjectTooLargeError) throw new SkippedInputError('too-large-file', err.message);
      if ((err as { code?: unknown }).code === 403) throw new SkippedInputError('unreadable', 'permission denied (403)');
      throw err;
    }
    if (entry.md5 && createHash('md5').update(data).digest('base64') !== entry.md5) {
      throw new ChecksumMismatchError(`${uri}: md5 of the downloaded bytes does not match the listing's ${entry.md5}`);
    }
    return data;
  };
  return { root, splits: result, read };
}

function gcsEntry(split: string, folder: string, name: string, file: File, maxFileBytes: number): FolderEntry | undefined {
  const kind = nameKind(name);
  if (kind === 'metadata') return undefined;
  if (kind !== 'image') return skipEntry(split, folder, name, 'not-an-image', NOT_IMAGE);
  const size = Number(file.metadata.size);
  if (!Number.isSafeInteger(size) || size < 0) return skipEntry(split, folder, name, 'unreadable', 'the listing reports no valid size');
  if (size > maxFileBytes) return { ...skipEntry(split, folder, name, 'too-large-file', `${size} bytes, over the cap of ${maxFileBytes}`), size };
  const generation = file.metadata.generation === undefined ? undefined : String(file.metadata.generation);
  const md5 = typeof file.metadata.md5Hash === 'string' ? file.metadata.md5Hash : undefined;
  const stamp = `${generation ?? ''}:${md5 ?? String(file.metadata.crc32c ?? '')}:${size}`;
  return { id: `${split}/${folder}/${name}`, classFolder: folder, name, size, stamp, ref: file.name, generation, md5 };
}

async function* listObjects(bucket: ReturnType<Storage['bucket']>, prefix: string): AsyncGenerator<File> {
  let pageToken: string | undefined;
  do {
    const [files, next] = await bucket.getFiles({ prefix, autoPaginate: false, maxResults: 1000, ...(pageToken ? { pageToken } : {}) });
    yield* files;
    pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
  } while (pageToken);
}

/** The split folders under `prefix`, for the message of a missing split (at most 10,000 names). */
async function listSplitNames(bucket: ReturnType<Storage['bucket']>, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let pageToken: string | undefined;
  do {
    const [, next, response] = await bucket.getFiles({ prefix, delimiter: '/', autoPaginate: false, maxResults: 1000, ...(pageToken ? { pageToken } : {}) });
    for (const p of (response as { prefixes?: string[] } | undefined)?.prefixes ?? []) {
      const name = p.slice(prefix.length).replace(/\/$/, '');
      if (name && !name.startsWith('.')) names.push(name);
    }
    pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
  } while (pageToken && names.length < 10_000);
  return names.sort();
}
