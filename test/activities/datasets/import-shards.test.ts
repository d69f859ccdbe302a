// runDatasetImport on labelled WebDataset shards: labels by index or name, classes given or found,
// labels outside the class list skipped and counted, re-ordering to a sweep's classes, and
// shard-level errors.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { runDatasetImport } from '../../../activities/datasets/import.js';
import type { DatasetImportInput } from '../../../contracts/datasets.js';
import { FAILURE_TYPES } from '../../../contracts/failures.js';
import { readDescriptor } from '../../../core/datasets/descriptor.js';
import { loadStoredSplit } from '../../../core/datasets/stored-split.js';
import { openStore, type BlobStore } from '../../../core/storage.js';
import { solid, tarOf } from '../../core/datasets/image-fixtures.js';

let dir = '';
let base = '';
let store: BlobStore;
const images: Uint8Array[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-import-shards-'));
  base = pathToFileURL(dir).href;
  store = openStore(join(dir, 'store'));
  for (const rgb of [[200, 0, 0], [0, 200, 0], [0, 0, 200]]) images.push(await solid('png', rgb, 12));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Write shards `<name>-000.tar`, ... of (label text, class of the image) samples, `perShard` each; label entries by `ext`. */
async function shards(name: string, labels: [string, number][], perShard = 4, ext = 'cls'): Promise<string> {
  for (let s = 0; s * perShard < labels.length; s++) {
    const entries: [string, Uint8Array | string][] = [];
    labels.slice(s * perShard, (s + 1) * perShard).forEach(([label, cls], i) => {
      const key = `k${String(s * perShard + i).padStart(4, '0')}`;
      entries.push([`${key}.png`, images[cls]!], [`${key}.${ext}`, label]);
    });
    await writeFile(join(dir, `${name}-${String(s).padStart(3, '0')}.tar`), await tarOf(entries));
  }
  return `${base}/${name}-{000..${String(Math.ceil(labels.length / perShard) - 1).padStart(3, '0')}}.tar`;
}

function input(splits: Record<string, string[]>, more: Record<string, unknown> = {}, rest: Partial<DatasetImportInput> = {}): DatasetImportInput {
  return {
    dataset: { kind: 'webdataset', splits, imagesPerShard: 16, ...more } as DatasetImportInput['dataset'],
    splits: Object.keys(splits),
    geometry: { size: 8, channels: 3 },
    role: 'dataset',
    ...rest,
  };
}

const cycle = (n: number, label: (c: number) => string): [string, number][] => Array.from({ length: n }, (_, i) => [label(i % 3), i % 3]);

test('integer .cls labels with a class list; out-of-range labels are skipped and counted', async () => {
  const train = await shards('ints', [...cycle(12, String), ['7', 0], ['-1', 1]]);
  const out = await runDatasetImport({ store }, input({ train: [train] }, { classes: ['red', 'green', 'blue'], skipBudget: 0.2 }));
  assert.deepEqual(out.splits.train, { count: 12, classCounts: [4, 4, 4] });
  assert.deepEqual(out.skipped.byReason, { 'label-out-of-range': 2 });
  assert.equal(out.inputs, 14);
  const d = (await readDescriptor(store, out.fingerprint))!;
  assert.deepEqual(d.origin, { kind: 'webdataset', uri: train });
  const set = await loadStoredSplit(store, d, 'train');
  assert.deepEqual([...set.labels.subarray(0, 4)], [0, 1, 2, 0]);
  assert.deepEqual([...set.images.subarray(64 * 3, 64 * 3 + 3)], [0, 200, 0]);
});

test('name labels without classes: the classes are the sorted names; unknown names with a class list are out of range', async () => {
  const names = ['red', 'green', 'blue'];
  const train = await shards('names', cycle(9, (c) => names[c]!), 5);
  const test1 = await shards('names-test', cycle(3, (c) => names[c]!));
  const out = await runDatasetImport({ store }, input({ train: [train], test: [test1] }));
  assert.deepEqual(out.classes, ['blue', 'green', 'red']);
  assert.deepEqual(out.splits.train!.classCounts, [3, 3, 3]);
  const withList = await runDatasetImport({ store }, input({ train: [train] }, { classes: ['red', 'green'], skipBudget: 0.5 }));
  assert.deepEqual(withList.skipped.byReason, { 'label-out-of-range': 3 });
});

test('a .json label field; integer labels without classes fail asking for classes', async () => {
  const json = await shards('json', cycle(6, (c) => JSON.stringify({ label: c, url: 'x' })), 4, 'json');
  const out = await runDatasetImport({ store }, input({ train: [json] }, { label: 'label', classes: ['r', 'g', 'b'] }));
  assert.deepEqual(out.splits.train!.classCounts, [2, 2, 2]);
  const ints = await shards('noclasses', cycle(6, String));
  await assert.rejects(runDatasetImport({ store }, input({ train: [ints] })), (err: Error) => err instanceof ApplicationFailure && /^dataset\.classes: the labels are class indices, so give the class names/.test(err.message));
});

test("integer labels are re-ordered to the sweep's classes", async () => {
  const train = await shards('reorder', cycle(6, String));
  const out = await runDatasetImport({ store }, input({ train: [train] }, { classes: ['red', 'green', 'blue'] }, { classes: ['blue', 'red', 'green'], role: 'eval.0.dataset' }));
  assert.deepEqual(out.classes, ['blue', 'red', 'green']);
  const set = await loadStoredSplit(store, (await readDescriptor(store, out.fingerprint))!, 'train');
  assert.deepEqual([...set.labels.subarray(0, 3)], [1, 2, 0]);
  assert.deepEqual([...set.images.subarray(0, 3)], [200, 0, 0]);
});

test('a truncated shard fails as MalformedImage naming it; a missing split or shard fails naming the field', async () => {
  const good = await shards('cut', cycle(6, String), 6);
  const bytes = await tarOf([['a.png', images[0]!], ['a.cls', '0']]);
  await writeFile(join(dir, 'cut-000.tar'), bytes.subarray(0, bytes.length - 1024));
  const cut = await runDatasetImport({ store }, input({ train: [good] }, { classes: ['r', 'g', 'b'] })).catch((err: ApplicationFailure) => err);
  assert.ok(cut instanceof ApplicationFailure);
  assert.equal(cut.type, FAILURE_TYPES.malformedImage);
  assert.match(cut.message, /^dataset: .*cut-000\.tar: truncated tar/);
  const split = await runDatasetImport({ store }, input({ train: [good] }, { classes: ['r', 'g'] }, { splits: ['val'] })).catch((err: Error) => err);
  assert.match((split as Error).message, /^dataset\.splits: no split 'val' \(the spec names train\)/);
  const missing = await runDatasetImport({ store }, input({ train: [`${base}/absent-{000..001}.tar`] }, { classes: ['r', 'g'] })).catch((err: Error) => err);
  assert.match((missing as Error).message, /^dataset\.splits\.train: shard .*absent-000\.tar does not exist/);
});
