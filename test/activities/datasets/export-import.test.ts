// `synthscale dataset export` (cli/make-dataset.ts) and the import round trip: Fashion-MNIST
// written as an image folder and as labelled shards, with a shifted split, imports back with its
// true class names ('T-shirt/top' from the 'T-shirt_top' folder via classes.txt) and its pixels.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runDatasetImport } from '../../../activities/datasets/import.js';
import { exportDataset, parseShift } from '../../../cli/make-dataset.js';
import type { DatasetImportInput } from '../../../contracts/datasets.js';
import { readDescriptor } from '../../../core/datasets/descriptor.js';
import { FASHION_MNIST_CLASSES, loadSplit, locateFashionMnist } from '../../../core/datasets/fashion-mnist.js';
import { loadStoredSplit } from '../../../core/datasets/stored-split.js';
import { FASHION_MNIST_GEOMETRY } from '../../../core/image/geometry.js';
import { resampleImages } from '../../../core/image/resample.js';
import { openStore } from '../../../core/storage.js';

let dir = '';
const geometry = { size: 16, channels: 3 } as const;
const dataDir = join(process.cwd(), '.synthscale/data');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-export-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const options = (layout: 'imagefolder' | 'webdataset') => ({
  dataset: 'fashion-mnist' as const,
  layout,
  geometry,
  out: join(dir, layout),
  train: 40,
  test: 20,
  shift: parseShift('invert:1'),
  imagesPerShard: 16,
  dataDir,
});

for (const layout of ['imagefolder', 'webdataset'] as const) {
  test(`export as ${layout}, then import: true class names, counts and pixels`, async () => {
    const exported = await exportDataset(options(layout));
    assert.deepEqual((await readFile(exported.classesFile, 'utf8')).trim().split('\n'), [...FASHION_MNIST_CLASSES]);
    if (layout === 'imagefolder') assert.ok((await readdir(join(dir, layout, 'train'))).includes('T-shirt_top'));
    else assert.deepEqual((await readdir(join(dir, layout))).filter((f) => f.startsWith('train-')), ['train-000000.tar', 'train-000001.tar', 'train-000002.tar']);
    const store = openStore(join(dir, `store-${layout}`));
    const input: DatasetImportInput = { dataset: { ...exported.spec, imagesPerShard: 16 } as DatasetImportInput['dataset'], splits: ['train', 'test', 'shifted'], geometry, role: 'dataset' };
    const out = await runDatasetImport({ store }, input);
    assert.deepEqual(out.classes, [...FASHION_MNIST_CLASSES]);
    assert.equal(out.splits.train!.count, 40);
    assert.equal(out.splits.shifted!.count, 20);
    assert.equal(out.skipped.count, 0);
    const test10 = await loadSplit(await locateFashionMnist(dataDir), 'test');
    assert.deepEqual(out.splits.test!.classCounts, FASHION_MNIST_CLASSES.map((_, c) => test10.labels.subarray(0, 20).filter((l) => l === c).length));
    const descriptor = (await readDescriptor(store, out.fingerprint))!;
    const stored = await loadStoredSplit(store, descriptor, 'test');
    const want = resampleImages(test10.images, 20, FASHION_MNIST_GEOMETRY, geometry);
    if (layout === 'webdataset') {
      assert.deepEqual(stored.images, want); // same order, same size: the import is exact
      assert.deepEqual([...stored.labels], [...test10.labels.subarray(0, 20)]);
    } else {
      const per = 16 * 16 * 3;
      const row = (set: Uint8Array, i: number) => Buffer.from(set.subarray(i * per, (i + 1) * per)).toString('hex');
      assert.deepEqual(new Set(Array.from({ length: 20 }, (_, i) => row(stored.images, i))), new Set(Array.from({ length: 20 }, (_, i) => row(want, i))));
    }
    const shifted = await loadStoredSplit(store, descriptor, 'shifted');
    assert.notDeepEqual(shifted.images, stored.images);
  });
}

test('export refuses a non-empty folder and a bad --shift', async () => {
  await assert.rejects(exportDataset(options('imagefolder')), /is not empty/);
  assert.throws(() => parseShift('melt:2'), /suites: rotate/);
  assert.throws(() => parseShift('rotate:9'), /<suite>:<severity 1-5>/);
});
