// Resuming an import from a heartbeat cursor: the result (fingerprint, counts, skips, stored shards)
// equals an uninterrupted run's, work before the cursor is not redone, and a cursor that does not
// belong to the import is ignored. Also through the activity in MockActivityEnvironment.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDatasetActivities, type DatasetImportHeartbeat } from '../../../activities/datasets/activity.js';
import type { ImportCursor } from '../../../activities/datasets/cursor.js';
import { runDatasetImport } from '../../../activities/datasets/import.js';
import type { DatasetImportInput, DatasetImportOutput } from '../../../contracts/datasets.js';
import { readDescriptor } from '../../../core/datasets/descriptor.js';
import { openStore, type BlobStore } from '../../../core/storage.js';
import { rgbPng, tarOf, TEXT, writeTree } from '../../core/datasets/image-fixtures.js';

let dir = '';
let folderInput: DatasetImportInput;
let shardInput: DatasetImportInput;
let n = 0;
const freshStore = () => openStore(join(dir, `store-${n++}`));
const silentLogger: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-import-resume-'));
  const files: Record<string, Uint8Array> = {};
  const tarEntries: [string, Uint8Array | string][][] = [[], [], [], [], [], []];
  for (let i = 0; i < 66; i++) {
    const img = await rgbPng(10, 14, (x, y) => [(i * 37 + x) & 255, (i * 11 + y) & 255, i % 3 === 0 ? 255 : 0]);
    files[`${i < 54 ? 'train' : 'test'}/${['a', 'b', 'c'][i % 3]}/${String(i).padStart(3, '0')}.png`] = img;
    tarEntries[Math.floor(i / 11)]!.push([`s${String(i).padStart(3, '0')}.png`, img], [`s${String(i).padStart(3, '0')}.cls`, String(i % 3)]);
  }
  files['train/b/zz-broken.png'] = TEXT;
  await writeTree(join(dir, 'folder'), files);
  for (const [s, entries] of tarEntries.entries()) await writeFile(join(dir, `shard-${s}.tar`), await tarOf(entries));
  const geometry = { size: 8, channels: 3 } as const;
  folderInput = { dataset: { kind: 'imagefolder', root: join(dir, 'folder'), imagesPerShard: 16, skipBudget: 0.05 } as DatasetImportInput['dataset'], splits: ['train', 'test'], geometry, role: 'dataset' };
  const shardsOf = (range: string) => [`${pathToFileURL(dir).href}/shard-{${range}}.tar`];
  shardInput = {
    dataset: { kind: 'webdataset', splits: { train: shardsOf('0..3'), val: shardsOf('4..5') }, classes: ['a', 'b', 'c'], imagesPerShard: 16 } as unknown as DatasetImportInput['dataset'],
    splits: ['train', 'val'],
    geometry,
    role: 'dataset',
  };
});
after(() => rm(dir, { recursive: true, force: true }));

/** What must not depend on interruptions (URIs differ between stores; seconds and caching by run). */
async function essence(store: BlobStore, out: DatasetImportOutput) {
  const d = (await readDescriptor(store, out.fingerprint))!;
  const shards = Object.fromEntries(Object.entries(d.splits).map(([s, v]) => [s, v.shards!.map((r) => [r.sha256, r.samples, r.firstIndex, r.uri.slice(r.uri.lastIndexOf('/') + 1)])]));
  return { ...out, descriptorUri: '', seconds: 0, shards };
}

/** Run until checkpoint `stopAt`, crash there; return the cursors seen. */
async function interrupted(store: BlobStore, inp: DatasetImportInput, stopAt: number): Promise<ImportCursor[]> {
  const seen: ImportCursor[] = [];
  const crash = new Error('worker crashed');
  await assert.rejects(
    runDatasetImport({ store }, inp, {
      onCheckpoint(c) {
        seen.push(c);
        if (seen.length === stopAt) throw crash;
      },
    }),
    (err) => err === crash,
  );
  return seen;
}

for (const [name, inp] of [
  ['image folder', () => folderInput],
  ['labelled shards (cursor inside an input shard)', () => shardInput],
] as const) {
  test(`${name}: resuming from any checkpoint gives the uninterrupted result`, async () => {
    const reference = freshStore();
    const full = await essence(reference, await runDatasetImport({ store: reference }, inp()));
    let insideAnInput = false;
    for (const stopAt of [1, 2, 5, 6]) {
      const store = freshStore();
      const cursors = await interrupted(store, inp(), stopAt);
      const cursor = cursors.at(-1)!;
      insideAnInput ||= (cursor.current?.next.within ?? 0) > 0;
      const later: ImportCursor[] = [];
      const resumed = await runDatasetImport({ store }, inp(), { cursor: JSON.parse(JSON.stringify(cursor)), onCheckpoint: (c) => later.push(c) });
      assert.deepEqual(await essence(store, resumed), full, `resumed at checkpoint ${stopAt}`);
      // The next checkpoint holds the cursor's shards, plus at most the one written since: nothing redone.
      const shardsOf = (c: ImportCursor) => [...c.done, ...(c.current ? [c.current] : [])].flatMap((s) => s.shards).length;
      assert.ok([shardsOf(cursor), shardsOf(cursor) + 1].includes(shardsOf(later[0]!)), `checkpoint ${stopAt}: ${shardsOf(cursor)} then ${shardsOf(later[0]!)} shards`);
    }
    if (inp().dataset.kind === 'webdataset') assert.ok(insideAnInput, 'some cursor resumes inside an input shard');
  });
}

test('a cursor of another listing, or naming a shard no longer stored, is ignored', async () => {
  const reference = freshStore();
  const full = await essence(reference, await runDatasetImport({ store: reference }, folderInput));
  const store = freshStore();
  const cursor = (await interrupted(store, folderInput, 2)).at(-1)!;
  const other = await runDatasetImport({ store }, folderInput, { cursor: { ...cursor, listingKey: '0'.repeat(24) } });
  assert.deepEqual(await essence(store, other), full);
  const store2 = freshStore();
  const cursor2 = (await interrupted(store2, folderInput, 2)).at(-1)!;
  await store2.delete(store2.keyOf(cursor2.current!.shards[0]!.uri));
  const restarted = await runDatasetImport({ store: store2 }, folderInput, { cursor: cursor2 });
  assert.deepEqual(await essence(store2, restarted), full);
  const junk = await runDatasetImport({ store: freshStore() }, folderInput, { cursor: { format: 'dataset-import-cursor-1', listingKey: 'x', done: 'no' } });
  assert.equal(junk.fingerprint, full.fingerprint);
});

test('the activity heartbeats its cursor and a retried attempt resumes from it', async () => {
  const store = freshStore();
  const { importDataset } = createDatasetActivities({ store, dataDir: dir });
  const first = new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 30_000 }, { logger: silentLogger });
  const beats: DatasetImportHeartbeat[] = [];
  first.on('heartbeat', (d: DatasetImportHeartbeat) => {
    beats.push(structuredClone(d));
    if ((d.cursor?.current?.shards.length ?? 0) >= 2) throw new Error('worker lost');
  });
  await assert.rejects(first.run(importDataset, folderInput), /worker lost/);
  const last = beats.at(-1)!;
  assert.equal(last.cursor?.current?.split, 'train');
  assert.equal(last.cursor?.current?.shards.length, 2);
  const second = new MockActivityEnvironment({ attempt: 2, heartbeatTimeoutMs: 30_000, heartbeatDetails: last }, { logger: silentLogger });
  const later: DatasetImportHeartbeat[] = [];
  second.on('heartbeat', (d: DatasetImportHeartbeat) => later.push(structuredClone(d)));
  const out = (await second.run(importDataset, folderInput)) as DatasetImportOutput;
  assert.equal(later.find((d) => d.cursor)?.cursor?.current?.shards.length, 3, 'the second attempt continued after shard 2');
  const reference = freshStore();
  assert.deepEqual(await essence(store, out), await essence(reference, await runDatasetImport({ store: reference }, folderInput)));
});
