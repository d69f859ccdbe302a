// Google Cloud Storage backend for BlobStore (`gs://bucket/optional/prefix`): objects carry their
// sha256 in custom metadata, checked on every read. The client, URI rules and bounded downloads are
// in gcs-client.ts (loaded lazily, see there), as is the reader for external objects.
import { createHash } from 'node:crypto';
import type { Bucket, File, Storage } from '@google-cloud/storage';
import { assertSafeKey, ChecksumMismatchError, DEFAULT_MAX_BYTES, keyUnderRoot, NotFoundError, ObjectTooLargeError, sha256, uriUnderRoot, type BlobStore, type PutResult } from './blob-store.js';
import { defaultGcsClient, downloadBounded, metadataOrNull, objectSize, parseBucket } from './gcs-client.js';

export { defaultGcsClient, parseGcsObjectUri, readGcsObject } from './gcs-client.js';

/** Objects above this go through a resumable upload (survives dropped connections); below, one request. */
export const RESUMABLE_THRESHOLD_BYTES = 8 * 1024 * 1024;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

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
