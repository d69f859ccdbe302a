// The real-pairs import: img2dataset-layout shards (external, unlabelled JPEGs, or the embedded
// Fashion-MNIST pairs) become the sweep's own shards, content-addressed over the inputs' bytes;
// a rerun decodes nothing; a changed input renames what follows it; labels come from metadata,
// else from a caption that names one class, else none. The embedded pairs' captions describe their
// images' measured attributes. Also brace expansion and file:// reads.
// Run: node --import tsx --test test/activities/shards/pairs-import.test.ts
import { realOrder } from '../../../core/datasets/real-draws.js';
import { trainPools } from '../../../core/datasets/splits.js';
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import sharp from 'sharp';
import { ExternalUriError, expandBraces, readExternalObject } from '../../../core/external-object.js';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';
import { decodeGrayPng, encodeGrayPng, MalformedImageError } from '../../../core/png.js';
import { NotFoundError, ObjectTooLargeError } from '../../../core/storage.js';
import { importPairs, labelOfPair, type ImportedShard } from '../../../activities/shards/import-pairs.js';
import { captionedPairShards } from '../../../core/shards/captioned-pairs.js';
import { packPairShard, type PairSampleInput } from '../../../core/shards/pairs.js';
import { ShardFormatError, UNLABELED } from '../../../core/shards/webdataset.js';
import { createPairActivities, EMBEDDED_PAIRS_CAPTIONS, type EmbeddedPairsOutput } from '../../../activities/shards/pairs-activity.js';
import { loadDatasetSplit, projectDataDir } from '../../../core/activity-deps.js';
import { openStore } from '../../../core/storage.js';
import { prepareCaptioner } from '../../../core/text/captioner.js';
import { promptAttributes } from '../../../core/text/text-condition.js';

const classes = [...FASHION_MNIST_CLASSES];

async function jpeg(shade: number): Promise<Uint8Array> {
  const raw = Buffer.alloc(40 * 40 * 3);
  for (let i = 0; i < 40 * 40; i++) raw.set((i % 40) > 10 && (i % 40) < 30 ? [shade, shade, shade] : [10, 10, 10], i * 3);
  return new Uint8Array(await sharp(raw, { raw: { width: 40, height: 40, channels: 3 } }).jpeg({ quality: 92 }).toBuffer());
}

/** An external shard as a lab would have it: JPEGs, captions in free text, img2dataset metadata without labels. */
async function labShard(first: number, captions: string[]): Promise<Uint8Array> {
  const samples: PairSampleInput[] = [];
  for (const [i, caption] of captions.entries()) {
    const key = String(first + i).padStart(9, '0');
    samples.push({ key, image: await jpeg(100 + i * 10), ext: 'jpg', caption, meta: { url: `https://example.com/${key}.jpg`, key, status: 'success', width: 40, height: 40 } });
  }
  return packPairShard(samples);
}

function memoryImport(files: Map<string, Uint8Array>, opts: { count: number; shardSize: number }) {
  const written = new Map<string, ImportedShard>();
  let decodedShards = 0;
  const run = () =>
    importPairs({
      uris: [...files.keys()],
      count: opts.count,
      shardSize: opts.shardSize,
      classes,
      source: 'lab',
      read: async (uri) => files.get(uri)!,
      exists: async (name) => written.has(name),
      write: async (shard) => {
        if (shard.samples) {
          decodedShards++;
          written.set(shard.name, shard);
        }
      },
    });
  return { run, written, decoded: () => decodedShards };
}

test('labels: metadata first, else a caption naming exactly one class, else UNLABELED', () => {
  assert.deepEqual(labelOfPair({ meta: { label: 3, className: 'Dress' }, caption: 'a bag' }, classes), { label: 3, from: 'metadata' });
  assert.deepEqual(labelOfPair({ meta: { className: 'Sneaker' }, caption: 'x' }, classes), { label: 7, from: 'metadata' });
  // A label index that disagrees with its class name is not trusted: the name decides, else the caption.
  assert.deepEqual(labelOfPair({ meta: { label: 3, className: 'Coat' }, caption: 'a leather handbag on a table' }, classes), { label: 4, from: 'metadata' });
  assert.deepEqual(labelOfPair({ meta: { label: 3, className: 'parka' }, caption: 'a leather handbag on a table' }, classes), { label: 8, from: 'caption' });
  assert.deepEqual(labelOfPair({ meta: {}, caption: 'a red dress and a coat' }, classes), { label: UNLABELED, from: 'none' });
  assert.deepEqual(labelOfPair({ meta: { label: 12 }, caption: 'sunset over the sea' }, classes), { label: UNLABELED, from: 'none' });
});

test('external shards import in order into fixed-size shards; a rerun decodes nothing; a changed shard renames what follows', async () => {
  const files = new Map<string, Uint8Array>([
    ['file:///lab/00000.tar', await labShard(0, ['a grey wool coat on a rail', 'sunset over the sea', 'running shoe, white'])],
    ['file:///lab/00001.tar', await labShard(3, ['a leather handbag', 'a dress and a coat', 'black ankle boot'])],
    ['file:///lab/00002.tar', await labShard(6, ['never read', 'never read'])],
  ]);
  const first = memoryImport(files, { count: 5, shardSize: 2 });
  const result = await first.run();
  assert.equal(result.totalSamples, 5);
  assert.equal(result.exhausted, false);
  assert.deepEqual(result.inputs.map((i) => [i.uri, i.samples, i.used]), [['file:///lab/00000.tar', 3, 3], ['file:///lab/00001.tar', 3, 2]], 'the third shard is never read');
  assert.deepEqual(result.shards.map((s) => [s.firstIndex, s.count]), [[0, 2], [2, 2], [4, 1]]);
  assert.deepEqual(result.labels, { metadata: 0, caption: 3, unlabeled: 2 });
  const shard1 = first.written.get(result.shards[1]!.name)!;
  // Sample 2 is the first shard's third pair, sample 3 the second shard's first: captions kept, labels read from them.
  assert.deepEqual(shard1.samples!.map((s) => [s.meta.index, s.meta.caption, s.meta.label, s.meta.pair?.shard]), [
    [2, 'running shoe, white', 7, '00000.tar'],
    [3, 'a leather handbag', 8, '00001.tar'],
  ]);
  assert.equal(decodeGrayPng(shard1.samples![0]!.png, 28, 28, 'x').length, 784, 'images are 28x28 grey');

  // Rerun over the same bytes: same names, nothing decoded again.
  const decodedBefore = first.decoded();
  const again = await first.run();
  assert.deepEqual(again.shards, result.shards);
  assert.equal(first.decoded(), decodedBefore);

  // The second input changes: shards holding its pairs (or after them) get new names; the first keeps its name.
  files.set('file:///lab/00001.tar', await labShard(3, ['a leather tote bag', 'a dress and a coat', 'black ankle boot']));
  const changed = await first.run();
  assert.equal(changed.shards[0]!.name, result.shards[0]!.name);
  assert.notEqual(changed.shards[1]!.name, result.shards[1]!.name);
  assert.notEqual(changed.shards[2]!.name, result.shards[2]!.name);

  const short = await memoryImport(files, { count: 50, shardSize: 4 }).run();
  assert.equal(short.exhausted, true);
  assert.equal(short.totalSamples, 8);
});

test('the embedded Fashion-MNIST pairs import with their metadata labels and captions', async () => {
  const images = new Uint8Array(12 * 784).map((_, i) => (i * 31) % 256);
  const labels = Uint8Array.from({ length: 12 }, (_, i) => i % 10);
  const built = await captionedPairShards({ images, labels, classes, source: 'fashion-mnist-train', captions: (i, l) => `photo ${i} of a ${classes[l]}` }, 5);
  const files = new Map(built.map((s) => [`file:///store/pairs/${s.name}`, s.bytes]));
  const imported = memoryImport(files, { count: 12, shardSize: 5 });
  const result = await imported.run();
  assert.deepEqual(result.labels, { metadata: 12, caption: 0, unlabeled: 0 });
  const samples = result.shards.flatMap((s) => imported.written.get(s.name)!.samples!);
  assert.deepEqual(samples.map((s) => s.meta.label), [...labels]);
  assert.equal(samples[11]!.meta.caption, 'photo 11 of a Trouser');
  // Grey PNGs survive the round trip bit for bit.
  assert.deepEqual(decodeGrayPng(samples[7]!.png, 28, 28, 'x'), images.subarray(7 * 784, 8 * 784));
});

test("the embedded pairs' captions state each image's measured brightness, size and texture", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synthscale-pairs-'));
  const deps = { store: openStore(join(dir, 'store')), dataDir: projectDataDir() };
  const silent: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 120_000 }, { logger: silent });
  const input = { count: 30, shardSize: 20, seed: 3, datasetFingerprint: 'pairs-test-fingerprint' };
  const out = (await env.run(createPairActivities(deps).writeFashionMnistPairs, input)) as EmbeddedPairsOutput;
  assert.equal(out.shardUris.length, 2);
  assert.equal(out.captions, EMBEDDED_PAIRS_CAPTIONS);
  assert.match(out.captions, /attribute words from measured image features/);
  const files = new Map(await Promise.all(out.shardUris.map(async (uri) => [uri, await deps.store.get(deps.store.keyOf(uri))] as const)));
  const imported = memoryImport(files, { count: 40, shardSize: 40 });
  const result = await imported.run();
  const samples = imported.written.get(result.shards[0]!.name)!.samples!;
  // The captioner the activity uses: class statistics over every image the source's order holds.
  const train = await loadDatasetSplit(deps, undefined, 'train');
  // Drawn from the real pool only (never the generators' split).
  const rows = realOrder(train, input.datasetFingerprint, classes.length, input.seed);
  const { generatorPool } = trainPools(input.datasetFingerprint, train.count);
  assert.ok(!rows.some((row) => generatorPool.includes(row)), 'no row of the generator pool');
  const captioner = await prepareCaptioner(classes, { seed: input.seed, images: { pixels: train.images, labels: train.labels, pixelsPerImage: 784, rows } });
  assert.equal(samples.length, 40);
  for (const [i, s] of samples.entries()) {
    const pixels = decodeGrayPng(s.png, 28, 28, 'x');
    assert.deepEqual(pixels, new Uint8Array(train.images.subarray(rows[i]! * 784, (rows[i]! + 1) * 784)));
    assert.equal(s.meta.caption, captioner.captionForImage(s.meta.label!, i, pixels));
    const { signs } = captioner.imageAttributes(s.meta.label!, pixels);
    const said = promptAttributes(s.meta.caption!, classes) ?? { brightness: 0, size: 0, texture: 0 };
    assert.deepEqual(said, { ...signs }, `"${s.meta.caption}"`);
  }
  await rm(dir, { recursive: true, force: true });
});

test('a malformed input shard or image fails naming the shard and key', async () => {
  const good = await labShard(0, ['a coat']);
  const badImage = await packPairShard([{ key: '000000001', image: new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3]), ext: 'jpg', caption: 'a bag', meta: {} }]);
  await assert.rejects(
    memoryImport(new Map([['file:///lab/a.tar', good], ['file:///lab/b.tar', badImage]]), { count: 2, shardSize: 2 }).run(),
    (err: Error) => err instanceof MalformedImageError && err.message.includes('file:///lab/b.tar') && err.message.includes('000000001'),
  );
  await assert.rejects(
    memoryImport(new Map([['file:///lab/c.tar', good.subarray(0, 700)]]), { count: 1, shardSize: 1 }).run(),
    (err: Error) => err instanceof ShardFormatError && err.message.includes('file:///lab/c.tar') && err.message.includes('000000000'),
  );
});

test('brace patterns expand the WebDataset way, bounded', () => {
  assert.deepEqual(expandBraces('gs://b/laion/{00008..00011}.tar'), ['gs://b/laion/00008.tar', 'gs://b/laion/00009.tar', 'gs://b/laion/00010.tar', 'gs://b/laion/00011.tar']);
  assert.deepEqual(expandBraces('file:///d/{a,b}/{0..1}.tar'), ['file:///d/a/0.tar', 'file:///d/a/1.tar', 'file:///d/b/0.tar', 'file:///d/b/1.tar']);
  assert.deepEqual(expandBraces('file:///d/x.tar'), ['file:///d/x.tar']);
  assert.throws(() => expandBraces('file:///d/{9..1}.tar'), /runs backwards/);
  assert.throws(() => expandBraces('file:///d/{0..999999}.tar'), /more than 100000/);
  assert.throws(() => expandBraces('file:///d/{x}.tar'), /neither a range/);
  assert.throws(() => expandBraces('file:///d/{0..3.tar'), ExternalUriError);
});

test('file:// reads are size-capped before buffering and refuse links and missing files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synthscale-ext-'));
  const path = join(dir, '00000.tar');
  await writeFile(path, encodeGrayPng(new Uint8Array(784), 28, 28));
  const uri = pathToFileURL(path).href;
  assert.ok((await readExternalObject(uri, { maxBytes: 1 << 20 })).length > 0);
  await assert.rejects(readExternalObject(uri, { maxBytes: 10 }), ObjectTooLargeError);
  await symlink(path, join(dir, 'link.tar'));
  await assert.rejects(readExternalObject(pathToFileURL(join(dir, 'link.tar')).href, { maxBytes: 1 << 20 }), /not a regular file/);
  await assert.rejects(readExternalObject(pathToFileURL(join(dir, 'none.tar')).href, { maxBytes: 1 << 20 }), NotFoundError);
  await assert.rejects(readExternalObject('https://example.com/x.tar', { maxBytes: 1 }), /unsupported scheme/);
});
