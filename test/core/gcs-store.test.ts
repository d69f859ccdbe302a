// GcsStore against a real local GCS emulator (PyPI gcp-storage-emulator, started by
// infra/gcs-emulator.sh on a free port). Skips only when python3 is missing.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { IdempotencyStrategy, Storage } from '@google-cloud/storage';
import { GcsStore, readGcsObject, RESUMABLE_THRESHOLD_BYTES } from '../../core/gcs-store.js';
import {
  ChecksumMismatchError,
  getJson,
  hasValidObject,
  NotFoundError,
  ObjectTooLargeError,
  openStore,
  sha256,
} from '../../core/storage.js';

const run = promisify(execFile);
const BUCKET = 'synthscale-test';
const ROOT = `gs://${BUCKET}/runs/r1`;

const skipReason = spawnSync('python3', ['--version']).status === 0 ? undefined : 'python3 is absent: it runs the GCS emulator';
let workDir = '';
let emulatorEnv: NodeJS.ProcessEnv = {};
let endpoint = '';
let raw: Storage; // direct client, for setup and for tampering behind the store's back
let proxy: Server | undefined;
/** Requests that went through the recording proxy, as "METHOD url". */
const proxiedRequests: string[] = [];
/**
 * When set, the proxy flips the first byte of each media download, keeping the headers (X-Goog-Hash
 * included). 'like-gcs' also adds the `x-goog-stored-content-encoding: identity` header real GCS
 * sends and the emulator does not: the library validates downloads only when it is present.
 */
let corruptDownloads: false | 'as-emulator' | 'like-gcs' = false;
/** When set, the proxy flips a byte near the end of each simple (multipart) upload body: in the data. */
let corruptUploads = false;
let proxiedStorage: Storage;
const savedEmulatorHost = process.env.STORAGE_EMULATOR_HOST;

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * A pass-through HTTP proxy to the emulator that records each request line. The emulator ignores
 * maxResults/pageToken on object listings, so the proxy pages those itself (the page token is the
 * offset of the next item) to exercise the store's pagination loop.
 */
async function startRecordingProxy(target: number): Promise<number> {
  proxy = createServer((req, res) => {
    proxiedRequests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://proxy');
    const pageSize = Number(url.searchParams.get('maxResults'));
    const pagedListing = req.method === 'GET' && /\/b\/[^/]+\/o$/.test(url.pathname) && pageSize > 0;
    if (corruptUploads && url.searchParams.get('uploadType') === 'multipart') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        body[body.length - 100] = body[body.length - 100]! ^ 0xff; // the closing boundary is shorter than 100 bytes
        const upstream = request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (upstreamRes) => {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
        });
        upstream.on('error', (err) => res.destroy(err));
        upstream.end(body);
      });
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers },
      (upstreamRes) => {
        if (corruptDownloads && url.searchParams.get('alt') === 'media' && upstreamRes.statusCode === 200) {
          const chunks: Buffer[] = [];
          upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
          upstreamRes.on('end', () => {
            const body = Buffer.concat(chunks);
            if (body.length > 0) body[0] = body[0]! ^ 0xff;
            const headers = { ...upstreamRes.headers };
            if (corruptDownloads === 'like-gcs') headers['x-goog-stored-content-encoding'] = 'identity';
            res.writeHead(200, headers);
            res.end(body);
          });
          return;
        }
        if (!pagedListing || upstreamRes.statusCode !== 200) {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
        upstreamRes.on('end', () => {
          const listing = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { items?: unknown[]; nextPageToken?: string };
          const items = listing.items ?? [];
          const start = Number(url.searchParams.get('pageToken') ?? 0);
          listing.items = items.slice(start, start + pageSize);
          if (start + pageSize < items.length) listing.nextPageToken = String(start + pageSize);
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(listing));
        });
      },
    );
    upstream.on('error', (err) => res.destroy(err));
    req.pipe(upstream);
  });
  await new Promise<void>((done) => proxy!.listen(0, '127.0.0.1', done));
  return (proxy.address() as AddressInfo).port;
}

function patternBytes(size: number, seed: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + seed) & 255;
  return data;
}

before(
  async () => {
    if (skipReason) return;
    workDir = await mkdtemp(join(tmpdir(), 'synthscale-gcs-'));
    const port = await freePort();
    emulatorEnv = { ...process.env, GCS_EMULATOR_PIDFILE: join(workDir, 'emulator.pid') };
    await run('bash', ['infra/gcs-emulator.sh', 'start', join(workDir, 'data'), String(port)], {
      env: emulatorEnv,
      timeout: 180_000,
    });
    endpoint = `http://127.0.0.1:${port}`;
    // The library reads STORAGE_EMULATOR_HOST in its constructor (and it wins over apiEndpoint for
    // JSON API calls), so build the explicitly pointed clients before setting it.
    delete process.env.STORAGE_EMULATOR_HOST;
    // RetryAlways: the emulator sometimes drops a kept-alive connection, and uploads are not
    // retried by default (they carry no generation precondition).
    raw = new Storage({
      apiEndpoint: endpoint,
      projectId: 'synthscale-test',
      retryOptions: { idempotencyStrategy: IdempotencyStrategy.RetryAlways },
    });
    proxiedStorage = new Storage({ apiEndpoint: `http://127.0.0.1:${await startRecordingProxy(port)}` });
    await raw.createBucket(BUCKET);
    // The default client (openStore, readGcsObject) finds the emulator the usual way.
    process.env.STORAGE_EMULATOR_HOST = endpoint;
  },
  { timeout: 200_000 },
);

after(async () => {
  if (savedEmulatorHost === undefined) delete process.env.STORAGE_EMULATOR_HOST;
  else process.env.STORAGE_EMULATOR_HOST = savedEmulatorHost;
  if (proxy) await new Promise((done) => proxy!.close(done));
  if (workDir) {
    await run('bash', ['infra/gcs-emulator.sh', 'stop'], { env: emulatorEnv, timeout: 30_000 }).catch(() => {});
    await rm(workDir, { recursive: true, force: true });
  }
});

/** Returns true (after marking the test skipped) when the emulator cannot run here. */
function skipped(t: TestContext): boolean {
  if (skipReason) t.skip(skipReason);
  return skipReason !== undefined;
}

test('put/get round trip records the sha256 in the object metadata', async (t) => {
  if (skipped(t)) return;
  const store = new GcsStore(ROOT, { storage: raw });
  const data = new TextEncoder().encode('{"hello":"gcs"}');
  const put = await store.put('a/hello.json', data);
  assert.deepEqual(put, { uri: `${ROOT}/a/hello.json`, key: 'a/hello.json', sha256: sha256(data), size: data.byteLength });
  const [metadata] = await raw.bucket(BUCKET).file('runs/r1/a/hello.json').getMetadata();
  assert.equal(metadata.metadata?.sha256, sha256(data));
  assert.equal(Number(metadata.size), data.byteLength);
  assert.ok(metadata.md5Hash && metadata.crc32c, 'the server recorded md5 and crc32c');
  assert.deepEqual(await store.head('a/hello.json'), { sha256: sha256(data), size: data.byteLength });
  assert.deepEqual(await store.get('a/hello.json'), data);
  assert.equal(await hasValidObject(store, 'a/hello.json'), true);
});

test('objects over 8 MiB go through a resumable upload and round trip; small ones in one request', async (t) => {
  if (skipped(t)) return;
  const store = new GcsStore(ROOT, { storage: proxiedStorage });
  const big = patternBytes(RESUMABLE_THRESHOLD_BYTES + 1024 * 1024 + 7, 3);
  proxiedRequests.length = 0;
  await store.put('big/9mib.bin', big);
  assert.ok(proxiedRequests.some((line) => line.includes('uploadType=resumable')), proxiedRequests.join('\n'));
  assert.deepEqual(await store.head('big/9mib.bin'), { sha256: sha256(big), size: big.byteLength });
  const back = await store.get('big/9mib.bin');
  assert.equal(back.byteLength, big.byteLength);
  assert.equal(Buffer.compare(back, big), 0);

  proxiedRequests.length = 0;
  await store.put('big/small.bin', patternBytes(1000, 1));
  assert.ok(proxiedRequests.some((line) => line.includes('uploadType=multipart')), proxiedRequests.join('\n'));
  assert.ok(!proxiedRequests.some((line) => line.includes('uploadType=resumable')));
});

test('absent keys: head is null, get throws NotFoundError, delete is a no-op', async (t) => {
  if (skipped(t)) return;
  const store = new GcsStore(ROOT, { storage: raw });
  assert.equal(await store.head('nope/absent.bin'), null);
  await assert.rejects(store.get('nope/absent.bin'), NotFoundError);
  await store.delete('nope/absent.bin');
  // An object without our sha256 metadata was never committed by a store.
  await raw.bucket(BUCKET).file('runs/r1/nope/foreign.bin').save(Buffer.from('x'), { resumable: false });
  assert.equal(await store.head('nope/foreign.bin'), null);
  await assert.rejects(store.get('nope/foreign.bin'), (err: Error) => err instanceof NotFoundError && /no sha256 metadata/.test(err.message));
});

test('maxBytes refuses an object from its metadata without downloading it', async (t) => {
  if (skipped(t)) return;
  const store = new GcsStore(ROOT, { storage: proxiedStorage });
  await store.put('limits/1mib.bin', patternBytes(1024 * 1024, 5));
  proxiedRequests.length = 0;
  await assert.rejects(
    store.get('limits/1mib.bin', { maxBytes: 1024 }),
    (err: Error) => err instanceof ObjectTooLargeError && /1048576 bytes, limit 1024/.test(err.message),
  );
  assert.ok(proxiedRequests.length > 0, 'the metadata request went through the proxy');
  assert.ok(!proxiedRequests.some((line) => line.includes('alt=media')), proxiedRequests.join('\n'));
  // Control: a get within the limit does download (alt=media) through the same proxy.
  proxiedRequests.length = 0;
  assert.equal((await store.get('limits/1mib.bin', { maxBytes: 1024 * 1024 })).byteLength, 1024 * 1024);
  assert.ok(proxiedRequests.some((line) => line.includes('alt=media')), proxiedRequests.join('\n'));
});

test('bytes replaced behind the store (old sha256 kept) fail with ChecksumMismatchError', async (t) => {
  if (skipped(t)) return;
  const store = new GcsStore(ROOT, { storage: raw });
  const put = await store.put('corrupt/x.bin', patternBytes(4096, 9));
  // A consistent object as far as GCS's own md5/crc32c go, but not the bytes we recorded.
  await raw
    .bucket(BUCKET)
    .file('runs/r1/corrupt/x.bin')
    .save(Buffer.from(patternBytes(4096, 10)), { resumable: false, metadata: { metadata: { sha256: put.sha256 } } });
  assert.equal((await store.head('corrupt/x.bin'))?.sha256, put.sha256);
  await assert.rejects(store.get('corrupt/x.bin'), (err: Error) => err instanceof ChecksumMismatchError && /does not match recorded/.test(err.message));
  const reasons: string[] = [];
  assert.equal(await hasValidObject(store, 'corrupt/x.bin', (reason) => reasons.push(reason)), false);
  assert.equal(reasons.length, 1);
  // Quarantined (copied, then deleted): the bad bytes and a note under quarantine/, the key free.
  assert.match(reasons[0]!, /; quarantined \(note quarantine\/\d{8}T\d{9}Z-corrupt_x\.bin\.note\.json\)/);
  assert.equal(await store.head('corrupt/x.bin'), null);
  const [bad, note] = await store.list('quarantine');
  assert.deepEqual(await store.get(bad!), patternBytes(4096, 10));
  assert.deepEqual((await getJson<{ key: string; expectedSha256: string }>(store, note!)).expectedSha256, put.sha256);
});

test('bytes corrupted in transit are refused, with and without the header that enables the library check', async (t) => {
  if (skipped(t)) return;
  const shard = patternBytes(50_000, 12);
  await raw.bucket(BUCKET).file('lab/transit/00000.tar').save(Buffer.from(shard), { resumable: false });
  const shardUri = `gs://${BUCKET}/lab/transit/00000.tar`;
  const store = new GcsStore(ROOT, { storage: proxiedStorage });
  await store.put('transit/x.bin', shard);
  try {
    // As the emulator answers: the library skips its crc32c check; our md5 / sha256 checks catch it.
    corruptDownloads = 'as-emulator';
    await assert.rejects(
      readGcsObject(shardUri, { maxBytes: 1_000_000, storage: proxiedStorage }),
      (err: Error) => err instanceof ChecksumMismatchError && /md5/.test(err.message),
    );
    await assert.rejects(store.get('transit/x.bin'), (err: Error) => err instanceof ChecksumMismatchError && /sha256/.test(err.message));
    // As real GCS answers: the library's check against X-Goog-Hash fires first.
    corruptDownloads = 'like-gcs';
    for (const read of [() => readGcsObject(shardUri, { maxBytes: 1_000_000, storage: proxiedStorage }), () => store.get('transit/x.bin')]) {
      await assert.rejects(read(), (err: Error) => err instanceof ChecksumMismatchError && /X-Goog-Hash/.test(err.message));
    }
  } finally {
    corruptDownloads = false;
  }
  assert.deepEqual(await store.get('transit/x.bin'), shard);
  assert.deepEqual(await readGcsObject(shardUri, { maxBytes: 1_000_000, storage: proxiedStorage }), shard);
});

test('an upload corrupted in transit is rejected by the server and the previous object stays', async (t) => {
  if (skipped(t)) return;
  const store = new GcsStore(ROOT, { storage: proxiedStorage });
  const good = patternBytes(4096, 20);
  await store.put('upload/x.bin', good);
  corruptUploads = true;
  try {
    // put sends md5Hash and crc32c with the metadata, so the server checks the bytes it received.
    await assert.rejects(store.put('upload/x.bin', patternBytes(4096, 21)));
  } finally {
    corruptUploads = false;
  }
  assert.deepEqual(await store.get('upload/x.bin'), good);
});

test('list returns the committed keys under a prefix, sorted, across pages', async (t) => {
  if (skipped(t)) return;
  const store = new GcsStore(`gs://${BUCKET}/listing`, { storage: raw });
  for (const key of ['s/b.bin', 's/a.bin', 's/deep/c.bin', 'sibling/d.bin', 'other/e.bin']) {
    await store.put(key, new TextEncoder().encode(key));
  }
  await raw.bucket(BUCKET).file('listing/s/foreign.bin').save(Buffer.from('no sha256'), { resumable: false });
  const expected = ['s/a.bin', 's/b.bin', 's/deep/c.bin'];
  assert.deepEqual(await store.list('s'), expected);
  assert.deepEqual(await store.list('s/'), expected);
  // Pages of 2 (paged by the proxy): 4 objects under s/ (one foreign) take 2 requests.
  proxiedRequests.length = 0;
  assert.deepEqual(await new GcsStore(`gs://${BUCKET}/listing`, { storage: proxiedStorage, listPageSize: 2 }).list('s'), expected);
  const listings = proxiedRequests.filter((line) => line.includes('maxResults=2'));
  assert.equal(listings.length, 2, proxiedRequests.join('\n'));
  assert.ok(listings[1]!.includes('pageToken=2'), listings[1]);
  assert.deepEqual(await store.list('s/deep'), ['s/deep/c.bin']);
  assert.deepEqual(await store.list('missing'), []);
  assert.deepEqual(await store.list(''), ['other/e.bin', ...expected, 'sibling/d.bin']);
  await assert.rejects(store.list('../up'), /unsafe storage key/);
});

test('delete removes the object', async (t) => {
  if (skipped(t)) return;
  const store = new GcsStore(ROOT, { storage: raw });
  await store.put('del/x.bin', new Uint8Array([1, 2, 3]));
  await store.delete('del/x.bin');
  assert.equal(await store.head('del/x.bin'), null);
  const [exists] = await raw.bucket(BUCKET).file('runs/r1/del/x.bin').exists();
  assert.equal(exists, false);
  assert.deepEqual(await store.list('del'), []);
});

// Pure URI logic: runs even without the emulator (the client is only made on first I/O).
test('uri/keyOf: keys stay under this bucket and prefix, and must be safe', () => {
  const store = new GcsStore(`${ROOT}/`);
  assert.equal(store.root, ROOT);
  assert.equal(store.uri('a/b.bin'), `${ROOT}/a/b.bin`);
  assert.equal(store.keyOf(`${ROOT}/a/b.bin`), 'a/b.bin');
  assert.throws(() => store.keyOf(`gs://other-bucket/runs/r1/a/b.bin`), /not under storage root/);
  assert.throws(() => store.keyOf(`gs://${BUCKET}/runs/r10/a/b.bin`), /not under storage root/);
  assert.throws(() => store.keyOf(`gs://${BUCKET}/a/b.bin`), /not under storage root/);
  assert.throws(() => store.keyOf(`${ROOT}/a/../../escape`), /unsafe storage key/);
  assert.throws(() => store.keyOf(`${ROOT}/a//b`), /unsafe storage key/);
  assert.throws(() => store.uri('../escape'), /unsafe storage key/);
  const bucketRoot = new GcsStore(`gs://${BUCKET}`);
  assert.equal(bucketRoot.keyOf(`gs://${BUCKET}/x/y`), 'x/y');
  assert.throws(() => new GcsStore('gs://Bad_Bucket/x'), /invalid bucket name "Bad_Bucket"/);
  assert.throws(() => new GcsStore(`gs://${BUCKET}/a/../b`), /prefix "a\/..\/b" must be a safe key/);
});

test('readGcsObject reads external objects (no sha256 metadata) within maxBytes', async (t) => {
  if (skipped(t)) return;
  const shard = patternBytes(200_000, 11);
  await raw.bucket(BUCKET).file('lab/shards/00000.tar').save(Buffer.from(shard), { resumable: false });
  const uri = `gs://${BUCKET}/lab/shards/00000.tar`;
  assert.deepEqual(await readGcsObject(uri, { maxBytes: 1_000_000 }), shard);
  await assert.rejects(
    readGcsObject(uri, { maxBytes: 1000 }),
    (err: Error) => err instanceof ObjectTooLargeError && err.message.includes(uri) && err.message.includes('1000 bytes'),
  );
  // The size check happens before any download.
  proxiedRequests.length = 0;
  await assert.rejects(readGcsObject(uri, { maxBytes: 1000, storage: proxiedStorage }), ObjectTooLargeError);
  assert.ok(!proxiedRequests.some((line) => line.includes('alt=media')), proxiedRequests.join('\n'));
  await assert.rejects(readGcsObject(`gs://${BUCKET}/lab/shards/99999.tar`, { maxBytes: 1000 }), NotFoundError);
  await assert.rejects(readGcsObject('s3://bucket/x', { maxBytes: 1 }), /not a gs:\/\/ URI/);
  await assert.rejects(readGcsObject(`gs://${BUCKET}`, { maxBytes: 1 }), /names no object/);
  await assert.rejects(readGcsObject(`gs://${BUCKET}/`, { maxBytes: 1 }), /names no object/);
  await assert.rejects(readGcsObject('gs://ab/x', { maxBytes: 1 }), /invalid bucket name "ab"/);
  await assert.rejects(readGcsObject('gs://my-google-bucket/x', { maxBytes: 1 }), /invalid bucket name/);
});

test("openStore('gs://bucket/prefix') returns a working GcsStore on the default client", async (t) => {
  if (skipped(t)) return;
  const store = openStore(`gs://${BUCKET}/opened/`);
  assert.ok(store instanceof GcsStore);
  assert.equal(store.root, `gs://${BUCKET}/opened`);
  const data = new TextEncoder().encode('via openStore');
  await store.put('k.txt', data);
  assert.deepEqual(await store.get('k.txt'), data);
  assert.deepEqual(await store.list(''), ['k.txt']);
  assert.throws(() => openStore('gs://UPPER/x'), /invalid bucket name/);
});
