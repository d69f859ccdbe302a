// Google Cloud Storage backend for BlobStore (`gs://bucket/optional/prefix`), plus a bounded
// reader for external objects (e.g. dataset shards a lab uploaded) that carry no sha256 metadata.
//
// @google-cloud/storage costs ~300 ms to import, so it is loaded on first use: storage.ts registers
// this backend statically and file:// users never pay for it. Only types are imported eagerly.
//
// Note: storage.ts imports this module and this module imports storage.ts. The cycle is safe
// because neither touches the other's bindings at module evaluation time.
import { createHash } from 'node:crypto';
import type { Bucket, File, FileMetadata, Storage, StorageOptions } from '@google-cloud/storage';
import {
  assertSafeKey,
  ChecksumMismatchError,
  keyUnderRoot,
  NotFoundError,
  ObjectTooLargeError,
  sha256,
  uriUnderRoot,
  type BlobStore,
  type PutResult,
} from './storage.js';

/** Objects above this go through a resumable upload (survives dropped connections); below, one request. */
export const RESUMABLE_THRESHOLD_BYTES = 8 * 1024 * 1024;
/** Same default bound as FileStore.get. */
const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

type StorageModule = typeof import('@google-cloud/storage');
let storageModule: Promise<StorageModule> | undefined;
function loadStorageModule(): Promise<StorageModule> {
  return (storageModule ??= import('@google-cloud/storage'));
}

/** The endpoint to talk to: the emulator when STORAGE_EMULATOR_HOST is set, else Google's. */
function emulatorEndpoint(): string | undefined {
  const host = process.env.STORAGE_EMULATOR_HOST?.trim();
  if (!host) return undefined;
  return /^https?:\/\//.test(host) ? host : `http://${host}`;
}

const clients = new Map<string, Promise<Storage>>();

/**
 * One client per endpoint, created on first use (so the env var may be set after import).
 * Credentials come from the environment (ADC); they never appear in our messages.
 * Retries are the library's own (exponential backoff). RetryAlways is sound here: puts are
 * content-addressed (a repeated upload writes the same bytes), everything else is a read or delete.
 */
export function defaultGcsClient(): Promise<Storage> {
  const apiEndpoint = emulatorEndpoint();
  const cacheKey = apiEndpoint ?? '';
  let client = clients.get(cacheKey);
  if (!client) {
    client = loadStorageModule().then(({ Storage, IdempotencyStrategy }) => {
      const options: StorageOptions = {
        retryOptions: {
          autoRetry: true,
          maxRetries: 5,
          retryDelayMultiplier: 2,
          maxRetryDelay: 32,
          totalTimeout: 600,
          idempotencyStrategy: IdempotencyStrategy.RetryAlways,
        },
      };
      if (apiEndpoint) options.apiEndpoint = apiEndpoint;
      return new Storage(options);
    });
    clients.set(cacheKey, client);
  }
  return client;
}

// Bucket naming rules: https://cloud.google.com/storage/docs/buckets#naming
function bucketNameProblem(bucket: string): string | undefined {
  if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(bucket)) {
    return 'use lowercase letters, digits, "-", "_" and "." and start and end with a letter or digit';
  }
  if (bucket.includes('.')) {
    if (bucket.length > 222) return 'names with dots are at most 222 characters';
    if (bucket.split('.').some((part) => part.length === 0 || part.length > 63)) {
      return 'each dot-separated part must be 1 to 63 characters';
    }
  } else if (bucket.length < 3 || bucket.length > 63) {
    return 'it must be 3 to 63 characters';
  }
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(bucket)) return 'it must not look like an IP address';
  if (bucket.startsWith('goog') || bucket.includes('google')) return 'it must not start with "goog" or contain "google"';
  return undefined;
}

function parseBucket(uri: string, what: string): { bucket: string; rest: string } {
  const match = /^gs:\/\/([^/]*)(?:\/(.*))?$/.exec(uri);
  if (!match) throw new Error(`${what} "${uri}" is not a gs:// URI (expected gs://bucket/...)`);
  const bucket = match[1] ?? '';
  const problem = bucketNameProblem(bucket);
  if (problem) throw new Error(`${what} "${uri}": invalid bucket name "${bucket}": ${problem}`);
  return { bucket, rest: match[2] ?? '' };
}

/** `gs://bucket/name` with GCS object-name rules (1..1024 UTF-8 bytes, no CR/LF, not . or ..). */
export function parseGcsObjectUri(uri: string): { bucket: string; name: string } {
  const { bucket, rest: name } = parseBucket(uri, 'GCS object URI');
  if (!name) throw new Error(`GCS object URI "${uri}" names no object (expected gs://bucket/name)`);
  if (Buffer.byteLength(name, 'utf8') > 1024) throw new Error(`GCS object URI "${uri}": object names are at most 1024 bytes`);
  if (/[\r\n]/.test(name) || name === '.' || name === '..') {
    throw new Error(`GCS object URI "${uri}": invalid object name (no CR/LF, not "." or "..")`);
  }
  return { bucket, name };
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 404;
}

/** Library download validation failure (RequestError code CONTENT_DOWNLOAD_MISMATCH). */
function isDownloadMismatch(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'CONTENT_DOWNLOAD_MISMATCH';
}

async function metadataOrNull(file: File): Promise<FileMetadata | null> {
  try {
    const [metadata] = await file.getMetadata();
    return metadata;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

function objectSize(metadata: FileMetadata): number {
  const size = Number(metadata.size);
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`object ${metadata.name} reports an invalid size "${metadata.size}"`);
  return size;
}

/**
 * Download the stored bytes (no gzip transcoding, so they are what the size and hashes describe)
 * with the library's md5 or crc32c check against the server's X-Goog-Hash. md5 is native in Node
 * (~600 MB/s) while the library's crc32c is JavaScript (35-160 MB/s), but composite objects have
 * no md5, so external objects without one use crc32c. The library runs that check
 * only when the response carries `x-goog-stored-content-encoding` (real GCS does; the PyPI
 * emulator does not, so there it is silently skipped). The byte counter keeps the bound even if
 * the object is replaced by a larger one after the size check.
 */
async function downloadBounded(file: File, uri: string, maxBytes: number, validation: 'md5' | 'crc32c'): Promise<Uint8Array> {
  const stream = file.createReadStream({ validation, decompress: false });
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        stream.destroy();
        throw new ObjectTooLargeError(`${uri} grew past the limit of ${maxBytes} bytes while downloading`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (isNotFound(err)) throw new NotFoundError(`${uri} does not exist (or was replaced while reading)`);
    if (isDownloadMismatch(err)) throw new ChecksumMismatchError(`${uri}: downloaded bytes fail the server's ${validation} (X-Goog-Hash)`);
    throw err;
  }
  const data = Buffer.concat(chunks, total);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export interface GcsStoreOptions {
  /** Client to use; by default a shared one from the environment (STORAGE_EMULATOR_HOST, ADC). */
  storage?: Storage;
  /** Objects per listing request (GCS allows up to 1000). */
  listPageSize?: number;
}

export class GcsStore implements BlobStore {
  readonly root: string;
  readonly bucketName: string;
  /** Object-name prefix of the root, without trailing '/'; '' for a bucket root. */
  readonly prefix: string;
  private readonly listPageSize: number;
  private readonly storage: Storage | undefined;
  private bucketPromise: Promise<Bucket> | undefined;

  constructor(rootUri: string, options: GcsStoreOptions = {}) {
    const { bucket, rest } = parseBucket(rootUri.replace(/\/+$/, ''), 'storage root');
    if (rest) {
      try {
        assertSafeKey(rest);
      } catch {
        throw new Error(`storage root "${rootUri}": the prefix "${rest}" must be a safe key (letters, digits, '.', '_', '=', '-' separated by '/')`);
      }
    }
    this.bucketName = bucket;
    this.prefix = rest;
    this.root = rest ? `gs://${bucket}/${rest}` : `gs://${bucket}`;
    this.storage = options.storage;
    this.listPageSize = options.listPageSize ?? 1000;
  }

  private bucket(): Promise<Bucket> {
    return (this.bucketPromise ??= (this.storage ? Promise.resolve(this.storage) : defaultGcsClient()).then((storage) =>
      storage.bucket(this.bucketName),
    ));
  }

  private objectName(key: string): string {
    assertSafeKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private async file(key: string): Promise<File> {
    const name = this.objectName(key);
    return (await this.bucket()).file(name);
  }

  uri(key: string): string {
    return uriUnderRoot(this.root, key);
  }

  keyOf(uri: string): string {
    return keyUnderRoot(this.root, uri);
  }

  async put(key: string, data: Uint8Array): Promise<PutResult> {
    const file = await this.file(key);
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const digest = sha256(data);
    // Sending md5Hash makes the server reject bytes damaged in transit before committing, so the
    // previous object (if any) stays. Without it, the library's own after-the-fact check deletes
    // the bad object, losing the old one too. The library also checks the md5 the server reports
    // (md5 rather than crc32c: native, several times faster here). A GCS object write is atomic.
    await file.save(bytes, {
      resumable: bytes.byteLength > RESUMABLE_THRESHOLD_BYTES,
      validation: 'md5',
      contentType: 'application/octet-stream',
      metadata: {
        md5Hash: createHash('md5').update(bytes).digest('base64'),
        metadata: { sha256: digest },
      },
    });
    return { uri: this.uri(key), key, sha256: digest, size: data.byteLength };
  }

  async head(key: string): Promise<{ sha256: string; size: number } | null> {
    const metadata = await metadataOrNull(await this.file(key));
    const recorded = metadata?.metadata?.sha256;
    // Without our sha256 the object was not written by a GcsStore: treat it as not committed.
    if (!metadata || typeof recorded !== 'string' || !SHA256_PATTERN.test(recorded)) return null;
    return { sha256: recorded, size: objectSize(metadata) };
  }

  async get(key: string, opts: { maxBytes?: number } = {}): Promise<Uint8Array> {
    const file = await this.file(key);
    const uri = this.uri(key);
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    const metadata = await metadataOrNull(file);
    if (!metadata) throw new NotFoundError(`${uri} does not exist`);
    const recorded = metadata.metadata?.sha256;
    if (typeof recorded !== 'string' || !SHA256_PATTERN.test(recorded)) {
      throw new NotFoundError(`${uri} exists but has no sha256 metadata (not written by this store)`);
    }
    const size = objectSize(metadata);
    if (size > maxBytes) throw new ObjectTooLargeError(`${uri} is ${size} bytes, limit ${maxBytes}`);
    // Objects we wrote are never composite, so they always have an md5.
    const data = await downloadBounded(file, uri, maxBytes, 'md5');
    const digest = sha256(data);
    if (digest !== recorded) {
      throw new ChecksumMismatchError(`${uri}: sha256 ${digest} does not match recorded ${recorded}`, { key, expectedSha256: recorded, actualSha256: digest, bytes: data });
    }
    return data;
  }

  async delete(key: string): Promise<void> {
    await (await this.file(key)).delete({ ignoreNotFound: true });
  }

  /** Keys strictly under `prefix/` (or the whole root for ''), sorted; only committed objects. */
  async list(prefix: string): Promise<string[]> {
    const trimmed = prefix.replace(/\/+$/, '');
    const namePrefix = trimmed ? `${this.objectName(trimmed)}/` : this.prefix ? `${this.prefix}/` : '';
    const rootPrefixLength = this.prefix ? this.prefix.length + 1 : 0;
    const bucket = await this.bucket();
    const keys: string[] = [];
    let pageToken: string | undefined;
    do {
      const [files, nextQuery] = await bucket.getFiles({
        prefix: namePrefix,
        autoPaginate: false,
        maxResults: this.listPageSize,
        ...(pageToken ? { pageToken } : {}),
      });
      for (const file of files) {
        const key = file.name.slice(rootPrefixLength);
        const recorded = file.metadata.metadata?.sha256;
        if (typeof recorded !== 'string' || !SHA256_PATTERN.test(recorded)) continue;
        try {
          assertSafeKey(key);
        } catch {
          continue; // a foreign object no key can address
        }
        keys.push(key);
      }
      pageToken = (nextQuery as { pageToken?: string } | null | undefined)?.pageToken;
    } while (pageToken);
    return keys.sort();
  }
}

export function openGcsStore(rootUri: string): BlobStore {
  return new GcsStore(rootUri);
}

/**
 * Read an EXTERNAL object (no sha256 metadata, e.g. an img2dataset shard): refuses objects larger
 * than `maxBytes` from their metadata before downloading, and relies on the library's crc32c check
 * against the server's hash. Returns the stored bytes (no gzip transcoding).
 */
export async function readGcsObject(uri: string, opts: { maxBytes: number; storage?: Storage }): Promise<Uint8Array> {
  const { bucket, name } = parseGcsObjectUri(uri);
  const storage = opts.storage ?? (await defaultGcsClient());
  const metadata = await metadataOrNull(storage.bucket(bucket).file(name));
  if (!metadata) throw new NotFoundError(`${uri} does not exist`);
  const size = objectSize(metadata);
  if (size > opts.maxBytes) throw new ObjectTooLargeError(`${uri} is ${size} bytes, over the limit of ${opts.maxBytes} bytes`);
  // Read the generation we sized, so the metadata's hashes describe the bytes we get.
  const generation = metadata.generation === undefined ? undefined : String(metadata.generation);
  const file = storage.bucket(bucket).file(name, { generation });
  const data = await downloadBounded(file, uri, opts.maxBytes, metadata.md5Hash ? 'md5' : 'crc32c');
  // These objects have no sha256 of ours, and the library's check may be skipped (see
  // downloadBounded), so also compare the md5 the metadata records (md5 is fast in Node;
  // composite objects have none and rely on the library's crc32c alone).
  if (metadata.md5Hash) {
    const md5 = createHash('md5').update(data).digest('base64');
    if (md5 !== metadata.md5Hash) throw new ChecksumMismatchError(`${uri}: md5 ${md5} of the downloaded bytes does not match ${metadata.md5Hash}`);
  }
  return data;
}
