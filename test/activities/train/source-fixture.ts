// A small generated source in a store, for the training activities' tests (train, clip).
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';
import { encodeGrayPng } from '../../../core/png.js';
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
