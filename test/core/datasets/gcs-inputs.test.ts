// gs:// inputs of the dataset import against a local GCS emulator (PyPI gcp-storage-emulator,
// infra/gcs-emulator.sh, as test/core/gcs-store.test.ts): an image folder under a prefix is listed
// like a local one and imports to the same fingerprint; labelled shards on gs://; a missing split
// prefix, a missing shard object and an object deleted after listing. Skips when python3 is missing.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test, type TestContext } from 'node:test';
import { IdempotencyStrategy, Storage } from '@google-cloud/storage';
import { runDatasetImport } from '../../../activities/datasets/import.js';
import type { DatasetImportInput } from '../../../contracts/datasets.js';
import { DatasetInputError, openImageFolder } from '../../../core/datasets/imagefolder.js';
import { SkippedInputError } from '../../../core/image/fit-geometry.js';
import { openStore } from '../../../core/storage.js';
import { rgbPng, tarOf, writeTree } from './image-fixtures.js';

const run = promisify(execFile);
const BUCKET = 'synthscale-datasets-test';
const skipReason = spawnSync('python3', ['--version']).status === 0 ? undefined : 'python3 is absent: it runs the GCS emulator';
let workDir = '';
let emulatorEnv: NodeJS.ProcessEnv = {};
let storage: Storage;
const files: Record<string, Uint8Array> = {};
const savedHost = process.env.STORAGE_EMULATOR_HOST;

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

before(
  async () => {
    if (skipReason) return;
    workDir = await mkdtemp(join(tmpdir(), 'synthscale-gcs-datasets-'));
    const port = await freePort();
    emulatorEnv = { ...process.env, GCS_EMULATOR_PIDFILE: join(workDir, 'emulator.pid') };
    await run('bash', ['infra/gcs-emulator.sh', 'start', join(workDir, 'data'), String(port)], { env: emulatorEnv, timeout: 180_000 });
    process.env.STORAGE_EMULATOR_HOST = `http://127.0.0.1:${port}`;
    storage = new Storage({ apiEndpoint: `http://127.0.0.1:${port}`, projectId: 'synthscale-test', retryOptions: { idempotencyStrategy: IdempotencyStrategy.RetryAlways } });
    await storage.createBucket(BUCKET);
    for (let i = 0; i < 12; i++) {
      files[`${i < 8 ? 'train' : 'test'}/${i % 2 ? 'Bag' : 'Coat'}/${String(i).padStart(2, '0')}.png`] = await rgbPng(12, 10, (x, y) => [i * 20, x * 9, y * 9]);
    }
    const upload = { ...files, 'train/Coat/deep/x.png': files['train/Coat/00.png']!, 'train/Coat/.hidden.png': new Uint8Array(3), 'classes.txt': new TextEncoder().encode('Coat\nBag\n') };
    for (const [name, data] of Object.entries(upload)) await storage.bucket(BUCKET).file(`lab/folder/${name}`).save(Buffer.from(data), { resumable: false });
    const entries: [string, Uint8Array | string][] = Object.entries(files).flatMap(([name, data], i) => [[`k${i}.png`, data], [`k${i}.cls`, name.includes('Bag') ? 'Bag' : 'Coat']] as [string, Uint8Array | string][]);
    await storage.bucket(BUCKET).file('lab/shards/all-00.tar').save(Buffer.from(await tarOf(entries.slice(0, 12))), { resumable: false });
    await storage.bucket(BUCKET).file('lab/shards/all-01.tar').save(Buffer.from(await tarOf(entries.slice(12))), { resumable: false });
  },
  { timeout: 200_000 },
);

after(async () => {
  if (savedHost === undefined) delete process.env.STORAGE_EMULATOR_HOST;
  else process.env.STORAGE_EMULATOR_HOST = savedHost;
  if (workDir) {
    await run('bash', ['infra/gcs-emulator.sh', 'stop'], { env: emulatorEnv, timeout: 30_000 }).catch(() => {});
    await rm(workDir, { recursive: true, force: true });
  }
});

function skipped(t: TestContext): boolean {
  if (skipReason) t.skip(skipReason);
  return skipReason !== undefined;
}

const folderInput = (root: string): DatasetImportInput => ({
  dataset: { kind: 'imagefolder', root, imagesPerShard: 16, skipBudget: 0.2 } as DatasetImportInput['dataset'],
  splits: ['train', 'test'],
  geometry: { size: 8, channels: 3 },
  role: 'dataset',
});

test('a gs:// image folder lists like a local one and imports to the same fingerprint', async (t) => {
  if (skipped(t)) return;
  const folder = await openImageFolder(`gs://${BUCKET}/lab/folder`, ['train', 'test']);
  const train = folder.splits.train!;
  assert.deepEqual(train.classFolders, ['Bag', 'Coat']);
  assert.deepEqual(
    train.entries.map((e) => (e.skip ? `${e.id} !${e.skip.reason}` : e.id)),
    ['train/Bag/01.png', 'train/Bag/03.png', 'train/Bag/05.png', 'train/Bag/07.png', 'train/Coat/00.png', 'train/Coat/02.png', 'train/Coat/04.png', 'train/Coat/06.png', 'train/Coat/deep/ !nested-folder'],
  );
  assert.deepEqual(await folder.read(train.entries[0]!), files['train/Bag/01.png']);
  const store = openStore(join(workDir, 'store'));
  const remote = await runDatasetImport({ store }, folderInput(`gs://${BUCKET}/lab/folder/`));
  const local = join(workDir, 'local-copy');
  await writeTree(local, files);
  const copy = await runDatasetImport({ store }, folderInput(local));
  assert.equal(remote.fingerprint, copy.fingerprint);
  assert.deepEqual(remote.splits, { train: { count: 8, classCounts: [4, 4] }, test: { count: 4, classCounts: [2, 2] } });
  assert.equal((await runDatasetImport({ store }, folderInput(`gs://${BUCKET}/lab/folder/`))).cached, true);
});

test('a missing split prefix names the splits found; a missing bucket prefix finds none', async (t) => {
  if (skipped(t)) return;
  await assert.rejects(openImageFolder(`gs://${BUCKET}/lab/folder`, ['val']), (err: Error) => err instanceof DatasetInputError && /no split folder 'val' .*split folders found: test, train/.test(err.message));
  await assert.rejects(openImageFolder(`gs://${BUCKET}/nothing-here`, ['train']), /split folders found: none/);
  await assert.rejects(openImageFolder('gs://Bad_Bucket/x', ['train']), /invalid bucket name/);
});

test('an object deleted after listing is skipped as unreadable', async (t) => {
  if (skipped(t)) return;
  await storage.bucket(BUCKET).file('lab/gone/train/a/1.png').save(Buffer.from(files['train/Bag/01.png']!), { resumable: false });
  await storage.bucket(BUCKET).file('lab/gone/train/a/2.png').save(Buffer.from(files['train/Bag/03.png']!), { resumable: false });
  const folder = await openImageFolder(`gs://${BUCKET}/lab/gone`, ['train']);
  await storage.bucket(BUCKET).file('lab/gone/train/a/1.png').delete();
  await assert.rejects(folder.read(folder.splits.train!.entries[0]!), (err: Error) => err instanceof SkippedInputError && err.reason === 'unreadable');
});

test('labelled shards on gs://, and a missing shard object named in the failure', async (t) => {
  if (skipped(t)) return;
  const store = openStore(join(workDir, 'store'));
  const inp = (range: string): DatasetImportInput => ({
    dataset: { kind: 'webdataset', splits: { train: [`gs://${BUCKET}/lab/shards/all-{${range}}.tar`] }, imagesPerShard: 16 } as unknown as DatasetImportInput['dataset'],
    splits: ['train'],
    geometry: { size: 8, channels: 1 },
    role: 'eval.0.dataset',
  });
  const out = await runDatasetImport({ store }, inp('00..01'));
  assert.deepEqual(out.classes, ['Bag', 'Coat']);
  assert.deepEqual(out.splits.train, { count: 12, classCounts: [6, 6] });
  await assert.rejects(runDatasetImport({ store }, inp('00..02')), /eval\.0\.dataset\.splits\.train: shard gs:\/\/synthscale-datasets-test\/lab\/shards\/all-02\.tar does not exist/);
});
