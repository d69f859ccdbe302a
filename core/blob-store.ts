// What every storage backend is: the BlobStore interface, its errors, and the key and checksum
// rules all backends share. Backends (file-store.ts, gcs-store.ts) import this; storage.ts opens
// one by URI scheme. No backend is imported here, so no backend imports another.
import { createHash } from 'node:crypto';
import { assertKey } from './keys.js';

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

/** What a get buffers at most unless told otherwise (every store). */
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

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
