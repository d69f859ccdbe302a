// Shards at any geometry: RGB 32x32 samples written with encodePng, read back through the
// manifest's geometry (decodeShard, openSamples, loadFirstSamples), byte for byte; manifests
// without a geometry read as 28x28 grey; a shard whose PNGs are not the manifest's geometry is
// malformed; streams of different geometries do not mix.
// Run: node --import tsx --test test/core/shards/stream-geometry.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeGrayPng, encodePng, MalformedImageError } from '../../../core/png.js';
import { createRng } from '../../../core/rng.js';
import { openStore, type BlobStore } from '../../../core/storage.js';
import { packShard, sampleKey } from '../../../core/shards/webdataset.js';
import { geometryField, manifestGeometry, MANIFEST_FORMAT, validateManifest, type ShardRecord, type SourceManifest } from '../../../core/shards/manifest.js';
import { concatStreams, DecodedShardCache, decodeShard, loadFirstSamples, openSamples } from '../../../core/shards/stream.js';
import { FASHION_MNIST_GEOMETRY, pixelsPerImage, type ImageGeometry } from '../../../core/image/geometry.js';

const RGB32: ImageGeometry = { size: 32, channels: 3 };
const CLASSES = ['red', 'green', 'blue'];
let dir: string;
let store: BlobStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-stream-geometry-'));
  store = openStore(join(dir, 'store'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Deterministic images of `geometry`: noise whose dominant channel is the label. */
function images(count: number, geometry: ImageGeometry, seed: string): { pixels: Uint8Array; labels: Uint8Array } {
  const per = pixelsPerImage(geometry);
  const rng = createRng(seed);
  const pixels = new Uint8Array(count * per);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % CLASSES.length);
  for (let i = 0; i < count; i++) {
    for (let v = 0; v < per; v++) {
      const channel = v % geometry.channels;
      pixels[i * per + v] = Math.floor(rng.uniform() * 100) + (geometry.channels === 3 && channel === labels[i] ? 150 : 0);
    }
  }
  return { pixels, labels };
}

/** Shards of `shardSize` samples of the images, PNG-encoded at `encodeAt`, and their manifest (declaring `declared`). */
async function writeSource(name: string, data: { pixels: Uint8Array; labels: Uint8Array }, encodeAt: ImageGeometry, declared: ImageGeometry | undefined, shardSize: number): Promise<SourceManifest> {
  const per = pixelsPerImage(encodeAt);
  const count = data.labels.length;
  const shards: ShardRecord[] = [];
  for (let first = 0, s = 0; first < count; first += shardSize, s++) {
    const samples = [];
    for (let index = first; index < Math.min(count, first + shardSize); index++) {
      const label = data.labels[index]!;
      samples.push({ key: sampleKey(index), png: encodePng(data.pixels.subarray(index * per, (index + 1) * per), encodeAt), meta: { label, className: CLASSES[label]!, source: name, index } });
    }
    const put = await store.put(`${name}/shard-${s}.tar`, await packShard(samples));
    shards.push({ uri: put.uri, sha256: put.sha256, bytes: put.size, samples: samples.length, firstIndex: first, failedItems: [] });
  }
  return validateManifest({ format: MANIFEST_FORMAT, source: name, kind: 'real', description: name, classes: CLASSES, ...geometryField(declared), totalSamples: count, shards }, name);
}

test('an RGB 32x32 source round-trips through its shards at the manifest geometry', async () => {
  const data = images(50, RGB32, 'rgb');
  const manifest = await writeSource('rgb', data, RGB32, RGB32, 16);
  assert.deepEqual(manifest.geometry, RGB32);
  assert.deepEqual(manifestGeometry(manifest), RGB32);
  const decoded = await decodeShard(store, manifest.shards[1]!, CLASSES.length, RGB32);
  assert.equal(decoded.images.length, 16 * 3072);
  assert.deepEqual(decoded.images, data.pixels.subarray(16 * 3072, 32 * 3072));
  assert.deepEqual([...decoded.indices], Array.from({ length: 16 }, (_, i) => 16 + i));

  const all = await loadFirstSamples(store, manifest, 50);
  assert.deepEqual(all.geometry, RGB32);
  assert.deepEqual(all.images, data.pixels);
  assert.deepEqual(all.labels, data.labels);

  // A window from an offset, gathered in any order: pixelsPerImage bytes per row.
  const stream = openSamples(store, manifest, { count: 20, offset: 10 }, new DecodedShardCache(64 << 20));
  assert.deepEqual(stream.geometry, RGB32);
  const rows = [19, 0, 7, 12];
  const out = new Uint8Array(rows.length * 3072);
  const labels = new Uint8Array(rows.length);
  await stream.gather(rows, out, labels);
  rows.forEach((r, i) => {
    assert.deepEqual(out.subarray(i * 3072, (i + 1) * 3072), data.pixels.subarray((10 + r) * 3072, (11 + r) * 3072));
    assert.equal(labels[i], data.labels[10 + r]);
  });
});

test('a manifest without geometry is 28x28 grey, and writes none: bytes as before geometries', async () => {
  const data = images(10, FASHION_MNIST_GEOMETRY, 'grey');
  const manifest = await writeSource('grey', data, FASHION_MNIST_GEOMETRY, FASHION_MNIST_GEOMETRY, 8);
  assert.equal('geometry' in manifest, false, 'no geometry field at 28x28 grey');
  assert.deepEqual(geometryField(FASHION_MNIST_GEOMETRY), {});
  assert.deepEqual(manifestGeometry(manifest), FASHION_MNIST_GEOMETRY);
  const stream = openSamples(store, manifest, { count: 10 });
  assert.deepEqual(stream.geometry, FASHION_MNIST_GEOMETRY);
  assert.deepEqual((await loadFirstSamples(store, manifest, 10)).images, data.pixels);
  // Byte-identical PNGs to the grey encoder every shard used before.
  assert.deepEqual(encodePng(data.pixels.subarray(0, 784), FASHION_MNIST_GEOMETRY), encodeGrayPng(data.pixels.subarray(0, 784), 28, 28));
});

test('PNGs of another geometry than the manifest says make a malformed shard', async () => {
  const data = images(4, FASHION_MNIST_GEOMETRY, 'mismatch');
  const manifest = await writeSource('mismatch', data, FASHION_MNIST_GEOMETRY, RGB32, 4);
  await assert.rejects(decodeShard(store, manifest.shards[0]!, CLASSES.length, RGB32), (err: Error) => err instanceof MalformedImageError && /image is 28x28, expected 32x32/.test(err.message));
  await assert.rejects(loadFirstSamples(store, manifest, 4), /expected 32x32/);
});

test('a manifest with an unusable geometry is refused; streams of two geometries do not mix', async () => {
  const data = images(4, RGB32, 'mix');
  const rgb = await writeSource('mix-rgb', data, RGB32, RGB32, 4);
  assert.throws(() => validateManifest({ ...rgb, geometry: { size: 32, channels: 2 } }, 'bad'), /channels must be 1 \(grey\) or 3 \(RGB\)/);
  const grey = await writeSource('mix-grey', images(4, FASHION_MNIST_GEOMETRY, 'mix-grey'), FASHION_MNIST_GEOMETRY, undefined, 4);
  assert.throws(() => concatStreams([openSamples(store, rgb, { count: 4 }), openSamples(store, grey, { count: 4 })]), /different geometries \(32x32x3 and 28x28x1\)/);
  const both = concatStreams([openSamples(store, rgb, { count: 2 }), openSamples(store, rgb, { count: 2, offset: 2 })]);
  assert.deepEqual(both.geometry, RGB32);
  const out = new Uint8Array(4 * 3072);
  await both.gather([3, 2, 1, 0], out, new Uint8Array(4));
  for (let i = 0; i < 4; i++) assert.deepEqual(out.subarray(i * 3072, (i + 1) * 3072), data.pixels.subarray((3 - i) * 3072, (4 - i) * 3072));
});
