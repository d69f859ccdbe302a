// Storage layer: artifacts addressed by key under a root URI. Backends sit behind one
// interface (blob-store.ts) and a scheme registry, so `gs://` can join `file://` without touching
// callers. Also here: JSON helpers, and quarantining objects whose bytes fail their checksum.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { ChecksumMismatchError, NotFoundError, sha256, type BlobStore, type PutResult } from './blob-store.js';
import { FileStore } from './file-store.js';
import { openGcsStore } from './gcs-store.js';

export * from './blob-store.js';

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
