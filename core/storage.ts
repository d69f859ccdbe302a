// Storage layer: artifacts addressed by key under a root URI. Backends sit behind one
// interface and a scheme registry, so `gs://` can join `file://` without touching callers.
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openGcsStore } from './gcs-store.js';
import { assertKey, keyProblem } from './keys.js';

export interface PutResult {
  uri: string;
  key: string;
  sha256: string;
  size: number;
}

export interface BlobStore {
  /** Root URI, e.g. file:///data/store */
  readonly root: string;
  uri(key: string): string;
  /** Key of a URI under this root (throws for URIs elsewhere). */
  keyOf(uri: string): string;
  /** Atomic write; records the sha256 beside the object so reads can be verified. */
  put(key: string, data: Uint8Array): Promise<PutResult>;
  /** Read and verify against the recorded checksum; `maxBytes` bounds what is buffered. */
  get(key: string, opts?: { maxBytes?: number }): Promise<Uint8Array>;
  /** The recorded checksum and size, or null when absent. Does not read the object. */
  head(key: string): Promise<{ sha256: string; size: number } | null>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<string[]>;
}

/** What a verified read found at rest: the bytes and both digests (see quarantineObject). */
export interface CorruptObject {
  key: string;
  expectedSha256: string;
  actualSha256: string;
  bytes: Uint8Array;
}

export class ChecksumMismatchError extends Error {
  readonly code = 'E_CHECKSUM_MISMATCH';
  /**
   * Set when the stored bytes were read and hashed, so the object at rest is corrupt; absent when
   * a transfer check failed. Not enumerable: the bytes stay out of logs and serialized errors.
   */
  declare readonly corrupt?: CorruptObject;
  constructor(message: string, corrupt?: CorruptObject) {
    super(message);
    if (corrupt) Object.defineProperty(this, 'corrupt', { value: corrupt, enumerable: false });
  }
}
export class ObjectTooLargeError extends Error {
  readonly code = 'E_OBJECT_TOO_LARGE';
}
export class NotFoundError extends Error {
  readonly code = 'E_NOT_FOUND';
}

const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

/**
 * The last line of defence: every BlobStore path (uri, keyOf, put, get, head, delete, list) checks
 * its key with this. Keys come partly from user input (sweep ids, source names), which core/keys.ts
 * keySegment checks first, naming the field: allow a safe alphabet only (core/keys.ts keyProblem).
 */
export function assertSafeKey(key: string): void {
  assertKey(key);
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

const CHECKSUM_SUFFIX = '.sha256';

/** `root/key` for a safe key: every store's `uri`. */
export function uriUnderRoot(root: string, key: string): string {
  assertSafeKey(key);
  return `${root}/${key}`;
}

/** The safe key of a URI under `root` (throws for URIs elsewhere): every store's `keyOf`. */
export function keyUnderRoot(root: string, uri: string): string {
  if (!uri.startsWith(`${root}/`)) throw new Error(`${uri} is not under storage root ${root}`);
  const key = uri.slice(root.length + 1);
  assertSafeKey(key);
  return key;
}

class FileStore implements BlobStore {
  readonly root: string;
  private readonly dir: string;

  constructor(rootUri: string) {
    this.dir = resolve(fileURLToPath(rootUri));
    this.root = pathToFileURL(this.dir).href;
  }

  uri(key: string): string {
    return uriUnderRoot(this.root, key);
  }

  keyOf(uri: string): string {
    return keyUnderRoot(this.root, uri);
  }

  private path(key: string): string {
    assertSafeKey(key);
    return join(this.dir, ...key.split('/'));
  }

  async put(key: string, data: Uint8Array): Promise<PutResult> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const digest = sha256(data);
    const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await writeFile(tmp, data);
    await rename(tmp, path);
    // The checksum file is written last: it is the commit marker of the object.
    const tmpSum = `${tmp}${CHECKSUM_SUFFIX}`;
    await writeFile(tmpSum, `${digest} ${data.byteLength}\n`);
    await rename(tmpSum, `${path}${CHECKSUM_SUFFIX}`);
    return { uri: this.uri(key), key, sha256: digest, size: data.byteLength };
  }

  async head(key: string): Promise<{ sha256: string; size: number } | null> {
    try {
      const text = await readFile(`${this.path(key)}${CHECKSUM_SUFFIX}`, 'utf8');
      const [digest, size] = text.trim().split(' ');
      if (!digest || !/^[0-9a-f]{64}$/.test(digest) || !size) return null;
      return { sha256: digest, size: Number(size) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async get(key: string, opts: { maxBytes?: number } = {}): Promise<Uint8Array> {
    const path = this.path(key);
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    const meta = await this.head(key);
    if (!meta) throw new NotFoundError(`${this.uri(key)} does not exist (or was never committed)`);
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new NotFoundError(`${this.uri(key)} has a checksum but no data`);
    }
    if (info.size > maxBytes) throw new ObjectTooLargeError(`${this.uri(key)} is ${info.size} bytes, limit ${maxBytes}`);
    const data = new Uint8Array(await readFile(path));
    const digest = sha256(data);
    if (digest !== meta.sha256) {
      throw new ChecksumMismatchError(`${this.uri(key)}: sha256 ${digest} does not match recorded ${meta.sha256}`, {
        key,
        expectedSha256: meta.sha256,
        actualSha256: digest,
        bytes: data,
      });
    }
    return data;
  }

  async delete(key: string): Promise<void> {
    const path = this.path(key);
    await rm(`${path}${CHECKSUM_SUFFIX}`, { force: true });
    await rm(path, { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    const trimmed = prefix.replace(/\/+$/, '');
    const base = trimmed ? this.path(trimmed) : this.dir;
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.name.endsWith(CHECKSUM_SUFFIX) && !entry.name.includes('.tmp-')) {
          const key = relative(this.dir, full.slice(0, -CHECKSUM_SUFFIX.length)).split(sep).join('/');
          if (keyProblem(key) === undefined) out.push(key); // else a foreign file no key can address
        }
      }
    };
    await walk(base);
    return out.sort();
  }
}

type StoreFactory = (rootUri: string) => BlobStore;

const BACKENDS: Record<string, StoreFactory> = {
  'file:': (root) => new FileStore(root),
  'gs:': (root) => openGcsStore(root), // loads @google-cloud/storage on first use only
};

/** Open a store for a root URI (`file:///abs/path`, `gs://bucket/optional/prefix`, or a plain path). */
export function openStore(rootUri: string): BlobStore {
  const uri = /^[a-z][a-z0-9+.-]*:\/\//i.test(rootUri) ? rootUri : pathToFileURL(resolve(rootUri)).href;
  const scheme = new URL(uri).protocol;
  const factory = BACKENDS[scheme];
  if (!factory) {
    throw new Error(
      `storage root ${rootUri}: unsupported scheme "${scheme}" (supported: ${Object.keys(BACKENDS).join(', ')}). ` +
        `Set SYNTHSCALE_STORE to a file:// or gs:// URI, or a local path.`,
    );
  }
  return factory(uri.replace(/\/+$/, ''));
}

/** Read JSON with a size bound. */
export async function getJson<T>(store: BlobStore, key: string, maxBytes = 16 * 1024 * 1024): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await store.get(key, { maxBytes }))) as T;
}

export function putJson(store: BlobStore, key: string, value: unknown): Promise<PutResult> {
  return store.put(key, new TextEncoder().encode(JSON.stringify(value, null, 1)));
}

/** Where quarantined objects go: `quarantine/<UTC timestamp>-<key with '/' as '_'>`, plus `.note.json`. */
export const QUARANTINE_PREFIX = 'quarantine';
export const QUARANTINE_NOTE_SUFFIX = '.note.json';

/** The note written beside a quarantined object. */
export interface QuarantineNote {
  key: string;
  uri: string;
  expectedSha256: string;
  /** null when the bytes failed a transfer check and were not kept (the object may be intact at rest). */
  actualSha256: string | null;
  size: number | null;
  /** ISO time of the quarantine. */
  when: string;
  reason: string;
  /** Key of the kept bad bytes, or null. */
  quarantinedKey: string | null;
}

/** `quarantine/20250102T030405678Z-a_b.bin` for key a/b.bin; long keys are shortened with a hash. */
export function quarantineKeyFor(key: string, when: Date): string {
  const stamp = when.toISOString().replace(/[-:.]/g, '');
  let flat = key.replaceAll('/', '_');
  // One segment: room for the stamp, a collision suffix and the note suffix within 200 characters.
  if (flat.length > 150) flat = `${flat.slice(0, 130)}-${sha256(new TextEncoder().encode(key)).slice(0, 16)}`;
  return `${QUARANTINE_PREFIX}/${stamp}-${flat}`;
}

/**
 * Move a corrupt object out of the way: its bytes (when the read kept them) to
 * `quarantine/<timestamp>-<flattened key>`, a QuarantineNote beside them, then delete the original
 * so the key is free for a rebuild. Works through any BlobStore (retrying and fault-injecting
 * wrappers included): the bytes are copied with put, then the original deleted. The original is
 * deleted only while its recorded checksum is still the corrupt one, so a rebuild that landed
 * meanwhile is kept. Returns the note's key.
 */
export async function quarantineObject(store: BlobStore, err: ChecksumMismatchError, key: string, when = new Date()): Promise<string> {
  let base = quarantineKeyFor(key, when);
  for (let n = 2; (await store.head(base)) || (await store.head(`${base}${QUARANTINE_NOTE_SUFFIX}`)); n++) {
    base = `${quarantineKeyFor(key, when)}-${n}`;
  }
  const corrupt = err.corrupt;
  const recorded = corrupt?.expectedSha256 ?? (await store.head(key))?.sha256 ?? '';
  if (corrupt) await store.put(base, corrupt.bytes);
  const note: QuarantineNote = {
    key,
    uri: store.uri(key),
    expectedSha256: recorded,
    actualSha256: corrupt?.actualSha256 ?? null,
    size: corrupt?.bytes.byteLength ?? null,
    when: when.toISOString(),
    reason: err.message,
    quarantinedKey: corrupt ? base : null,
  };
  const noteKey = `${base}${QUARANTINE_NOTE_SUFFIX}`;
  await putJson(store, noteKey, note);
  if (corrupt && (await store.head(key))?.sha256 === corrupt.expectedSha256) await store.delete(key);
  return noteKey;
}

/**
 * Idempotency check for content-addressed outputs: true when the object exists and its bytes
 * still match the recorded checksum. A corrupt artifact is never silently used: it is reported,
 * quarantined (quarantineObject) and false returned, so the caller rebuilds it.
 */
export async function hasValidObject(
  store: BlobStore,
  key: string,
  onCorrupt?: (message: string) => void,
): Promise<boolean> {
  const meta = await store.head(key);
  if (!meta) return false;
  try {
    await store.get(key);
    return true;
  } catch (err) {
    if (err instanceof ChecksumMismatchError) {
      let where: string;
      try {
        where = `quarantined (note ${await quarantineObject(store, err, key)})`;
      } catch (quarantineErr) {
        // The rebuild overwrites the object anyway; say why the evidence could not be kept.
        where = `could not be quarantined: ${(quarantineErr as Error).message}`;
      }
      onCorrupt?.(`${err.message}; ${where}`);
      return false;
    }
    if (err instanceof NotFoundError) {
      onCorrupt?.(err.message);
      return false;
    }
    throw err;
  }
}
