// runDatasetImport on image folders: what is stored (readable by loadStoredSplit, pixels by the
// fit-geometry rule, sample metadata), the fingerprint and the cached rerun, skips against the
// budget, and class matching. (Labelled shards: import-shards.test.ts; resume: resume.test.ts.)
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { runDatasetImport } from '../../../activities/datasets/import.js';
import type { DatasetImportInput } from '../../../contracts/datasets.js';
import { FAILURE_TYPES } from '../../../contracts/failures.js';
import { readDescriptor } from '../../../core/datasets/descriptor.js';
import { loadStoredSplit } from '../../../core/datasets/stored-split.js';
import { fitToGeometry } from '../../../core/image/fit-geometry.js';
import { unpackShard } from '../../../core/shards/webdataset.js';
import { openStore, type BlobStore } from '../../../core/storage.js';
import { greyPng, png16, pngClaiming, rgbaPng, rgbJpeg, rgbPng, rgbWebp, SVG, TEXT, writeTree } from '../../core/datasets/image-fixtures.js';

let dir = '';
let store: BlobStore;
const GEOMETRY = { size: 8, channels: 3 } as const;
let n = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-import-'));
  store = openStore(join(dir, 'store'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A varied image of class `c`, number `i`, in one of six encodings. */
async function image(c: number, i: number): Promise<Uint8Array> {
  const v = (x: number, y: number) => (c * 60 + i * 7 + x * 3 + y) & 255;
  switch (i % 6) {
    case 0: return rgbPng(12, 20, (x, y) => [v(x, y), 255 - v(x, y), c * 80]);
    case 1: return greyPng(20, 12, (x, y) => [v(x, y)]);
    case 2: return rgbaPng(16, 16, (x, y) => [v(x, y), c * 80, 30, 200]);
    case 3: return png16(10, 10, 2, Array.from({ length: 100 }, (_, p) => [v(p % 10, p / 10) * 257, c * 20000, 1000]).flat());
    case 4: return rgbJpeg(24, 16, (x, y) => [v(x, y), c * 80, 90]);
    default: return rgbWebp(16, 24, (x, y) => [c * 80, v(x, y), 10]);
  }
}

/** root/<split>/<class>/<i>.<ext> with `counts[split]` images per class, plus `extra` files. */
async function makeFolder(classes: string[], counts: Record<string, number>, extra: Record<string, Uint8Array | string> = {}): Promise<string> {
  const root = join(dir, `folder-${n++}`);
  const files: Record<string, Uint8Array> = {};
  const ext = ['png', 'png', 'png', 'png', 'jpg', 'webp'];
  for (const [split, count] of Object.entries(counts)) {
    for (const [c, name] of classes.entries()) for (let i = 0; i < count; i++) files[`${split}/${name}/${String(i).padStart(3, '0')}.${ext[i % 6]}`] = await image(c, i);
  }
  await writeTree(root, { ...files, ...extra });
  return root;
}

function input(root: string, more: Partial<DatasetImportInput['dataset']> = {}, rest: Partial<DatasetImportInput> = {}): DatasetImportInput {
  return { dataset: { kind: 'imagefolder', root, imagesPerShard: 16, ...more } as DatasetImportInput['dataset'], splits: ['train', 'test'], geometry: GEOMETRY, role: 'dataset', ...rest };
}

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.nonRetryable, true);
    return err;
  }
  assert.fail('expected a failure');
}

test('an image folder of mixed encodings is stored at the geometry, readable by loadStoredSplit', async () => {
  const root = await makeFolder(['Coat', 'Bag', 'Hat'], { train: 12, test: 6 }, { 'classes.txt': 'ignored', 'train/Bag/notes.txt': 'x' });
  const out = await runDatasetImport({ store }, input(root, { title: 'My clothes' }));
  assert.equal(out.cached, false);
  assert.deepEqual(out.classes, ['Bag', 'Coat', 'Hat']);
  assert.deepEqual(out.splits, { train: { count: 36, classCounts: [12, 12, 12] }, test: { count: 18, classCounts: [6, 6, 6] } });
  assert.equal(out.inputs, 54);
  assert.equal(out.skipped.count, 0);
  const descriptor = (await readDescriptor(store, out.fingerprint))!;
  assert.equal(descriptor.title, 'My clothes');
  assert.deepEqual(descriptor.origin, { kind: 'imagefolder', uri: root });
  assert.deepEqual(descriptor.splits.train!.shards!.map((s) => s.samples), [16, 16, 4]);
  const train = await loadStoredSplit(store, descriptor, 'train');
  assert.equal(train.count, 36);
  // Row 13 is Coat's image 1 (Bag's 12 come first): the grey PNG, fitted by the rule.
  assert.equal(train.labels[13], 1);
  const want = await fitToGeometry(await image(0, 1), GEOMETRY, { maxPixels: 1e6 });
  assert.deepEqual(train.images.subarray(13 * 192, 14 * 192), want);
  const [first] = await unpackShard(await store.get(store.keyOf(descriptor.splits.train!.shards![0]!.uri)), 's');
  assert.deepEqual(first!.meta, { label: 0, className: 'Bag', source: 'My clothes', index: 0 });
});

test('an unchanged rerun is cached without decoding; a changed file changes the fingerprint', async () => {
  const root = await makeFolder(['a', 'b'], { train: 4, test: 2 });
  const first = await runDatasetImport({ store }, input(root));
  const again = await runDatasetImport({ store }, input(root));
  assert.equal(again.cached, true);
  assert.equal(again.fingerprint, first.fingerprint);
  assert.deepEqual({ ...again, seconds: 0, cached: false }, { ...first, seconds: 0 });
  await writeFile(join(root, 'train/b/001.png'), await image(0, 3));
  const changed = await runDatasetImport({ store }, input(root));
  assert.equal(changed.cached, false);
  assert.notEqual(changed.fingerprint, first.fingerprint);
  const otherGeometry = await runDatasetImport({ store }, input(root, {}, { geometry: { size: 8, channels: 1 } }));
  assert.notEqual(otherGeometry.fingerprint, changed.fingerprint);
});

test('unusable files are skipped with reasons and counted; over skipBudget the import fails naming counts and the fix', async () => {
  const root = await makeFolder(['a', 'b'], { train: 20, test: 3 }, {
    'train/a/corrupt.png': (await image(0, 0)).subarray(0, 60),
    'train/a/text.png': TEXT,
    'train/b/vector.svg': SVG,
    'train/b/drawing.png': SVG,
    'train/b/bomb.png': pngClaiming(20_000, 20_000),
  });
  const ok = await runDatasetImport({ store }, input(root, { skipBudget: 0.2 }));
  assert.equal(ok.splits.train!.count, 40);
  assert.equal(ok.inputs, 45 + 6);
  assert.deepEqual(ok.skipped.byReason, { corrupt: 1, 'not-an-image': 3, 'pixel-cap': 1 });
  assert.ok(ok.skipped.examples.some((e) => e.item === 'train/a/corrupt.png' && e.reason === 'corrupt'));
  const err = await failure(runDatasetImport({ store }, input(root, { skipBudget: 0.05 })));
  assert.equal(err.type, FAILURE_TYPES.failureBudgetExceeded);
  assert.match(err.message, /^dataset: split 'train': at least 3 of 45 inputs are unusable \(stopped after \d+\), over skipBudget 0\.05 \(at most 2\): /);
  assert.match(err.message, /not-an-image \d/);
  assert.match(err.message, /raise dataset\.skipBudget/);
});

test("an eval dataset is ordered by the sweep's classes; a different class set fails naming them", async () => {
  const root = await makeFolder(['Bag', 'Coat', 'Hat'], { train: 2, test: 2 });
  const ordered = await runDatasetImport({ store }, input(root, {}, { classes: ['Hat', 'Coat', 'Bag'], role: 'eval.1.dataset' }));
  assert.deepEqual(ordered.classes, ['Hat', 'Coat', 'Bag']);
  const d = (await readDescriptor(store, ordered.fingerprint))!;
  const test1 = await loadStoredSplit(store, d, 'test');
  assert.deepEqual([...test1.labels], [2, 2, 1, 1, 0, 0]);
  const err = await failure(runDatasetImport({ store }, input(root, {}, { classes: ['Bag', 'Coat', 'Shoe'], role: 'eval.1.dataset' })));
  assert.match(err.message, /^eval\.1\.dataset: classes differ from the sweep's: missing \[Shoe\], extra \[Hat\]/);
});

test('a class in train but not in the test split, an extra folder, and a class with only unusable images fail', async () => {
  const root = await makeFolder(['a', 'b', 'c'], { train: 2 }, { 'test/a/0.png': await image(0, 0), 'test/b/0.png': await image(1, 0) });
  const missing = await failure(runDatasetImport({ store }, input(root)));
  assert.match(missing.message, /dataset\.root: class 'c' has no folder in split 'test'/);
  const extra = await failure(runDatasetImport({ store }, input(root, { classes: ['a', 'b'] }, { splits: ['train'] })));
  assert.match(extra.message, /extra class folder .*train\/c: not one of the classes/);
  const listed = await failure(runDatasetImport({ store }, input(root, { classes: ['a', 'b', 'c', 'd'] }, { splits: ['train'] })));
  assert.match(listed.message, /class 'd' has no folder in split 'train'/);
  const broken = await makeFolder(['a', 'b'], { train: 3 }, { 'train/c/0.png': TEXT });
  const none = await failure(runDatasetImport({ store }, input(broken, { skipBudget: 0.5 }, { splits: ['train'] })));
  assert.match(none.message, /split 'train' has no usable images of class 'c'/);
});

test('bad specs fail naming the field', async () => {
  const err = await failure(runDatasetImport({ store }, input(join(dir, 'x'), { skipBudget: 2 })));
  assert.match(err.message, /^dataset\.skipBudget: /);
  const geometry = await failure(runDatasetImport({ store }, input(join(dir, 'x'), {}, { geometry: { size: 3, channels: 3 } })));
  assert.match(geometry.message, /image\.size must be an integer from 8/);
  const split = await failure(runDatasetImport({ store }, input(join(dir, 'x'), {}, { splits: ['../up'] })));
  assert.match(split.message, /cannot be part of a storage key/);
  const root = await failure(runDatasetImport({ store }, input(join(dir, 'missing-root'))));
  assert.match(root.message, /^dataset\.root: root .*missing-root does not exist/);
});
