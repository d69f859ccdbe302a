// Talking to Google Cloud Storage: the shared client (the emulator when STORAGE_EMULATOR_HOST is
// set), gs:// URI and bucket-name rules, size-bounded checked downloads, and a reader for external
// objects (e.g. dataset shards a lab uploaded) that carry no sha256 metadata. GcsStore
// (gcs-store.ts) is built on these.
//
// @google-cloud/storage costs ~300 ms to import, so it is loaded on first use: storage.ts registers
// the gs:// backend statically and file:// users never pay for it. Only types are imported eagerly.
import { createHash } from 'node:crypto';
import type { File, FileMetadata, Storage, StorageOptions } from '@google-cloud/storage';
import { ChecksumMismatchError, NotFoundError, ObjectTooLargeError } from './blob-store.js';

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

export function parseBucket(uri: string, what: string): { bucket: string; rest: string } {
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

export function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 404;
}

/** Library download validation failure (RequestError code CONTENT_DOWNLOAD_MISMATCH). */
function isDownloadMismatch(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'CONTENT_DOWNLOAD_MISMATCH';
}

export async function metadataOrNull(file: File): Promise<FileMetadata | null> {
  try {
    const [metadata] = await file.getMetadata();
    return metadata;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

export function objectSize(metadata: FileMetadata): number {
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
export async function downloadBounded(file: File, uri: string, maxBytes: number, validation: 'md5' | 'crc32c'): Promise<Uint8Array> {
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
