// Pair shards built from a captioned image set (core/shards/captioned-pairs.ts): captioned grey
// PNGs under global keys, img2dataset-style metadata, byte-reproducible, read back by pairs.ts.
// Run: node --import tsx --test test/core/shards/captioned-pairs.test.ts
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prepareCaptioner } from '../../../core/text/captioner.js';
import { captionedPairShards } from '../../../core/shards/captioned-pairs.js';
import { decodePairImages, unpackPairShard } from '../../../core/shards/pairs.js';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';

const URI = 'gs://lab-bucket/laion-subset/00000.tar';

test('Fashion-MNIST-style pair shards: captioned PNGs, global keys, reproducible bytes', async () => {
  const count = 23;
  const images = new Uint8Array(count * 784).map((_, i) => (i * 31) % 251);
  const labels = Uint8Array.from({ length: count }, (_, i) => (i * 3) % 10);
  const captioner = await prepareCaptioner(FASHION_MNIST_CLASSES, { seed: 0 });
  const data = { images, labels, captions: (i: number, label: number) => captioner.captionFor(label, i), classes: FASHION_MNIST_CLASSES, source: 'fashion-mnist-train' };
  const shards = await captionedPairShards(data, 10);
  assert.deepEqual(shards.map((s) => [s.name, s.firstIndex, s.samples]), [['shard-000000.tar', 0, 10], ['shard-000001.tar', 10, 10], ['shard-000002.tar', 20, 3]]);
  assert.deepEqual((await captionedPairShards(data, 10))[1]!.bytes, shards[1]!.bytes);
  const back = await unpackPairShard(shards[2]!.bytes, URI);
  assert.deepEqual(back.map((s) => s.key), ['000000020', '000000021', '000000022']);
  const s = back[1]!;
  assert.equal(s.caption, captioner.captionFor(labels[21]!, 21));
  assert.deepEqual(s.meta, { key: '000000021', caption: s.caption, status: 'success', width: 28, height: 28, label: labels[21], className: FASHION_MNIST_CLASSES[labels[21]!], source: 'fashion-mnist-train', index: 21 });
  assert.deepEqual(await decodePairImages(back, URI), images.subarray(20 * 784, 23 * 784));
  await assert.rejects(captionedPairShards({ ...data, captions: ['too few'] }, 10), /1 captions for 23 images/);
  await assert.rejects(captionedPairShards({ ...data, labels: labels.map(() => 10) }, 10), /label 10, but there are 10 classes/);
});
