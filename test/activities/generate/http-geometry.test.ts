// The HTTP generator backends at the sweep's geometry, against the real generator server serving
// a colour (16x16 RGB) embedded model: images come back resized to 32x32 RGB by the dataset
// import's rule (resize.ts toGeometryPixels = fit-geometry.ts for RGB), colour kept; a shard for a
// dataset at 32x32 RGB (generateShard with its fingerprint) holds 32x32 RGB PNGs, and with
// `keepOriginals` each image as returned, content-addressed, named in its metadata.
// Run: node --import tsx --test test/activities/generate/http-geometry.test.ts
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import sharp from 'sharp';
import { createGenerateActivities, type GenerateShardOutput } from '../../../activities/generate/activity.js';
import { startGeneratorServer, type GeneratorServer } from '../../../activities/generate/generator-server.js';
import { fitGmmGenerator } from '../../../activities/generate/gmm/fit.js';
import { createHttpItemGenerator, httpSeed, type HttpImageMeta } from '../../../activities/generate/http-backends.js';
import { synthesizePromptList } from '../../../activities/prompts/strategies.js';
import { A1111GeneratorSchema, OpenAiImagesGeneratorSchema, type A1111GeneratorSpec } from '../../../contracts/spec/generators.js';
import { DATASET_DESCRIPTOR_FORMAT, writeDescriptor } from '../../../core/datasets/descriptor.js';
import { FASHION_MNIST_CLASSES, loadSplit, locateFashionMnist } from '../../../core/datasets/fashion-mnist.js';
import { fitToGeometry } from '../../../core/image/fit-geometry.js';
import type { ImageGeometry } from '../../../core/image/geometry.js';
import { resampleImages } from '../../../core/image/resample.js';
import { toGeometryPixels } from '../../../core/image/resize.js';
import { decodePng, encodePng } from '../../../core/png.js';
import { unpackShard } from '../../../core/shards/webdataset.js';
import { openStore, type BlobStore } from '../../../core/storage.js';

const CLASSES = [...FASHION_MNIST_CLASSES];
const RGB16: ImageGeometry = { size: 16, channels: 3 };
const RGB32: ImageGeometry = { size: 32, channels: 3 };
const silent: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

let server: GeneratorServer;
let dir: string;
let store: BlobStore;

const a1111 = (over: Record<string, unknown> = {}) => A1111GeneratorSchema.parse({ name: 'a1111', baseUrl: server.url, width: 64, height: 64, timeoutMs: 10_000, ...over });
const openai = () => OpenAiImagesGeneratorSchema.parse({ name: 'openai-images', baseUrl: `${server.url}/v1`, model: 'm', size: '96x96', timeoutMs: 10_000 });
const item = (text: string, seed: string) => ({ index: 0, prompt: { index: 0, classIndex: 0, text }, seed, cfgScale: 3, steps: 10 });

/** How far apart the channels of an RGB image are, on average. */
function colourfulness(pixels: Uint8Array): number {
  let s = 0;
  for (let p = 0; p < pixels.length; p += 3) s += Math.abs(pixels[p]! - pixels[p + 1]!) + Math.abs(pixels[p + 1]! - pixels[p + 2]!);
  return s / (pixels.length / 3);
}

before(async () => {
  const train = await loadSplit(await locateFashionMnist(join(process.cwd(), '.synthscale/data')), 'train');
  const n = 1500;
  // Fashion-MNIST at 16x16 RGB, every image red-dominant: a model whose samples are colour.
  const images = resampleImages(train.images.subarray(0, n * 784), n, { size: 28, channels: 1 }, RGB16);
  for (let i = 0; i < images.length; i += 3) [images[i + 1], images[i + 2]] = [Math.round(images[i + 1]! * 0.3), Math.round(images[i + 2]! * 0.5)];
  const model = fitGmmGenerator({ images, labels: train.labels.subarray(0, n), count: n, geometry: RGB16 }, { pcaDims: 12, componentsPerClass: 2, fitSeed: 0 }, CLASSES);
  server = await startGeneratorServer({ model, limits: { maxN: 2, maxWidth: 256, maxHeight: 256, maxSteps: 50, maxBodyBytes: 16 * 1024 } });
  dir = await mkdtemp(join(tmpdir(), 'synthscale-http-geometry-'));
  store = openStore(join(dir, 'store'));
});
after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

test('both APIs: images brought to 32x32 RGB, colour kept, as our own PNG encoding', async () => {
  for (const spec of [a1111(), openai()]) {
    const metas: HttpImageMeta[] = [];
    const generate = createHttpItemGenerator(spec, { geometry: RGB32, onImage: (_, m) => metas.push(m) });
    const png = await generate(item('a photo of a dress', 'g|1'));
    const pixels = decodePng(png, RGB32, spec.name);
    assert.deepEqual(png, encodePng(pixels, RGB32));
    assert.ok(colourfulness(pixels) > 10, `${spec.name}: colour kept (${colourfulness(pixels).toFixed(1)})`);
    assert.equal(metas[0]!.seed, httpSeed('g|1'));
    assert.deepEqual([metas[0]!.source.width, metas[0]!.source.height], spec.name === 'a1111' ? [64, 64] : [96, 96]);
  }
  // Grey stays the 28x28 grey of before when no geometry is asked for.
  const grey = await createHttpItemGenerator(a1111())(item('a photo of a dress', 'g|1'));
  assert.equal(decodePng(grey, { size: 28, channels: 1 }, 'grey').length, 784);
});

test('the resize rule is the dataset import\'s: shorter side to the size, centre crop', async () => {
  // 60x40: left third blue, middle green, right third red; the 32x32 crop keeps the middle 40x40.
  const raw = Buffer.alloc(60 * 40 * 3);
  for (let y = 0; y < 40; y++) for (let x = 0; x < 60; x++) raw.set(x < 10 ? [0, 0, 255] : x >= 50 ? [255, 0, 0] : [0, 255, 0], (y * 60 + x) * 3);
  const png = new Uint8Array(await sharp(raw, { raw: { width: 60, height: 40, channels: 3 } }).png().toBuffer());
  const { pixels, source } = await toGeometryPixels(png, { geometry: RGB32, maxPixels: 1 << 20 });
  assert.deepEqual(source, { format: 'png', width: 60, height: 40 });
  assert.deepEqual(pixels, await fitToGeometry(png, RGB32, { maxPixels: 1 << 20 }));
  const at = (x: number, y: number) => [...pixels.subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3)];
  assert.deepEqual(at(16, 16), [0, 255, 0]);
  assert.ok(at(0, 16)[1]! > 200 && at(31, 16)[1]! > 200, 'the crop drops the blue and red thirds');
});

test('generateShard for a dataset at 32x32 RGB: RGB shards; keepOriginals stores what the server returned', async () => {
  const fingerprint = 'rgb32-http-test';
  await writeDescriptor(store, {
    format: DATASET_DESCRIPTOR_FORMAT,
    fingerprint,
    title: 'Fashion-MNIST at 32x32x3',
    classes: CLASSES,
    geometry: RGB32,
    origin: { kind: 'builtin', dataset: 'fashion-mnist', nativeFingerprint: 'native', nativeGeometry: { size: 28, channels: 1 } },
    splits: { train: { count: 60000, classCounts: CLASSES.map(() => 6000) }, test: { count: 10000, classCounts: CLASSES.map(() => 1000) } },
  });
  const prompts = synthesizePromptList('classnames', CLASSES, 4, 0);
  const promptsUri = (await store.put('prompts/http.json', new TextEncoder().encode(JSON.stringify({ prompts })))).uri;
  const activities = createGenerateActivities({ store, dataDir: join(process.cwd(), '.synthscale/data') });
  const generator = { ...a1111(), keepOriginals: true } as A1111GeneratorSpec;
  const base = { source: 's', modelUri: '', promptsUri, firstIndex: 0, count: 4, cfgScale: 3, steps: 8, generationSeed: 2, generatorLabel: 'a1111', classes: CLASSES, chunkSize: 2 };
  const run = (input: Parameters<typeof activities.generateShard>[0]) =>
    new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 }, { logger: silent }).run(activities.generateShard, input) as Promise<GenerateShardOutput>;
  const out = await run({ ...base, shardKey: 'sources/http-rgb/shard-000000.tar', generator, datasetFingerprint: fingerprint });
  assert.equal(out.samples, 4);
  const samples = await unpackShard(await store.get('sources/http-rgb/shard-000000.tar', { maxBytes: 1 << 24 }), 'rgb', { maxSamples: 10, maxEntryBytes: 1 << 22 });
  for (const s of samples) {
    assert.equal(decodePng(s.png, RGB32, s.key).length, 3072);
    const key = s.meta.http!.original!;
    assert.match(key, /^originals\/[0-9a-f]{64}\.png$/);
    const original = await store.get(key);
    assert.equal(createHash('sha256').update(original).digest('hex'), key.slice('originals/'.length, -'.png'.length));
    assert.equal(original.byteLength, s.meta.http!.bytes);
    assert.deepEqual((await toGeometryPixels(original, { geometry: RGB32, maxPixels: 1 << 20 })).pixels, decodePng(s.png, RGB32, s.key));
  }
  // Without the flag nothing is kept; without a dataset the shard is the 28x28 grey of before.
  const plain = await run({ ...base, shardKey: 'sources/http-grey/shard-000000.tar', generator: a1111() });
  const grey = await unpackShard(await store.get(store.keyOf(plain.uri)), 'grey');
  for (const s of grey) {
    assert.equal(decodePng(s.png, { size: 28, channels: 1 }, s.key).length, 784);
    assert.equal(s.meta.http!.original, undefined);
  }
});
