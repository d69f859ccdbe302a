// Storage layer: artifacts addressed by key under a root URI. Backends sit behind one
// interface and a scheme registry, so `gs://` can join `file://` without touching callers.
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openGcsStore } from './gcs-store.js';

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

export class ChecksumMismatchError extends Error {
  readonly code = 'E_CHECKSUM_MISMATCH';
}
export class ObjectTooLargeError extends Error {
  readonly code = 'E_OBJECT_TOO_LARGE';
}
export class NotFoundError extends Error {
  readonly code = 'E_NOT_FOUND';
}

const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
const KEY_PATTERN = /^[A-Za-z0-9._=-]+(\/[A-Za-z0-9._=-]+)*$/;

/** Keys come partly from user input (sweep ids, source names): allow a safe alphabet only. */
export function assertSafeKey(key: string): void {
  if (!KEY_PATTERN.test(key) || key.split('/').some((part) => part === '.' || part === '..') || key.length > 512) {
    throw new Error(`unsafe storage key "${key}": use letters, digits, '.', '_', '=', '-' separated by '/'`);
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

const CHECKSUM_SUFFIX = '.sha256';

class FileStore implements BlobStore {
  readonly root: string;
  private readonly dir: string;

  constructor(rootUri: string) {
    this.dir = resolve(fileURLToPath(rootUri));
    this.root = pathToFileURL(this.dir).href;
  }

  uri(key: string): string {
    assertSafeKey(key);
    return `${this.root}/${key}`;
  }

  keyOf(uri: string): string {
    if (!uri.startsWith(`${this.root}/`)) throw new Error(`${uri} is not under storage root ${this.root}`);
    const key = uri.slice(this.root.length + 1);
    assertSafeKey(key);
    return key;
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
      throw new ChecksumMismatchError(`${this.uri(key)}: sha256 ${digest} does not match recorded ${meta.sha256}`);
    }
    return data;
  }

  async delete(key: string): Promise<void> {
    const path = this.path(key);
    await rm(`${path}${CHECKSUM_SUFFIX}`, { force: true });
    await rm(path, { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.path(prefix.replace(/\/$/, ''));
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
          out.push(relative(this.dir, full.slice(0, -CHECKSUM_SUFFIX.length)).split(sep).join('/'));
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

/**
 * Idempotency check for content-addressed outputs: true when the object exists and its bytes
 * still match the recorded checksum. A mismatch is reported (callers regenerate).
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
    if (err instanceof ChecksumMismatchError || err instanceof NotFoundError) {
      onCorrupt?.((err as Error).message);
      return false;
    }
    throw err;
  }
}
