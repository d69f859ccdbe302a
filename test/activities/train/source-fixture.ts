// A small generated source in a store, for the training activities' tests (train, clip).
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';
import type { ImageGeometry } from '../../../core/image/geometry.js';
import { encodeGrayPng, encodePng } from '../../../core/png.js';
import { MANIFEST_FORMAT, writeManifest, type SourceManifest } from '../../../core/shards/manifest.js';
import { packShard, sampleKey } from '../../../core/shards/webdataset.js';
import type { BlobStore } from '../../../core/storage.js';

/**
 * A source named `name` of `shards` x 30 samples under `name/` in `store`: sample i has label
 * i % 10, pixels that depend on (name, label) and the prompt "a photo of a <class>"; returns its manifest URI.
 */
export async function writeSource(store: BlobStore, name: string, shards: number): Promise<string> {
  const classes = [...FASHION_MNIST_CLASSES];
  const records = [];
  for (let s = 0; s < shards; s++) {
    const samples = Array.from({ length: 30 }, (_, k) => {
      const index = s * 30 + k;
      const label = index % 10;
      const pixels = new Uint8Array(784).map((_, p) => (p * (label + 1) + name.length * 31) % 256);
      const meta = { label, className: classes[label]!, source: name, index, prompt: `a photo of a ${classes[label]!.toLowerCase()}` };
      return { key: sampleKey(index), png: encodeGrayPng(pixels, 28, 28), meta };
    });
    const put = await store.put(`${name}/shard-${s}.tar`, await packShard(samples));
    records.push({ uri: put.uri, sha256: put.sha256, bytes: put.size, samples: 30, firstIndex: s * 30, failedItems: [] });
  }
  const manifest: SourceManifest = { format: MANIFEST_FORMAT, source: name, kind: 'synthetic', description: '', classes, totalSamples: shards * 30, shards: records };
  return writeManifest(store, `${name}/manifest.json`, manifest);
}

/**
 * A source of `shards` x 30 RGB samples of `size` x `size` in `classes.length` classes (sample i has
 * label i % classes): a bright square whose colour and place follow the label on dim noise, and
 * the prompt "a photo of a <class>"; the manifest records the geometry. Returns its manifest URI.
 */
export async function writeRgbSource(store: BlobStore, name: string, shards: number, size: number, classes: string[]): Promise<string> {
  const geometry: ImageGeometry = { size, channels: 3 };
  const records = [];
  for (let s = 0; s < shards; s++) {
    const samples = Array.from({ length: 30 }, (_, k) => {
      const index = s * 30 + k;
      const label = index % classes.length;
      const pixels = new Uint8Array(size * size * 3).map((_, p) => (p * 37 + index * 11) % 50);
      const side = Math.floor(size / 2);
      const corner = (label * 3) % (size - side);
      for (let r = corner; r < corner + side; r++) for (let c = corner; c < corner + side; c++) pixels[(r * size + c) * 3 + (label % 3)] = 220;
      const meta = { label, className: classes[label]!, source: name, index, prompt: `a photo of a ${classes[label]!}` };
      return { key: sampleKey(index), png: encodePng(pixels, geometry), meta };
    });
    const put = await store.put(`${name}/shard-${s}.tar`, await packShard(samples));
    records.push({ uri: put.uri, sha256: put.sha256, bytes: put.size, samples: 30, firstIndex: s * 30, failedItems: [] });
  }
  const manifest: SourceManifest = { format: MANIFEST_FORMAT, source: name, kind: 'synthetic', description: '', classes, geometry, totalSamples: shards * 30, shards: records };
  return writeManifest(store, `${name}/manifest.json`, manifest);
}
