// Labelled WebDataset shards as untrusted input (core/datasets/labelled-shards.ts): labels from
// .cls or a .json field, per-sample problems as skips, whole-shard problems as errors, and the
// listing of shard URIs (brace ranges, missing shards, size cap). (gs:// shards: gcs-inputs.test.ts.)
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { DatasetInputError } from '../../../core/datasets/imagefolder.js';
import { listShardInputs, parseLabel, readLabelledShard, readShardBytes, ShardFormatError } from '../../../core/datasets/labelled-shards.js';
import { solid, tarOf } from './image-fixtures.js';

let dir = '';
let png: Uint8Array;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-lshards-'));
  png = await solid('png', [1, 2, 3], 8);
});
after(() => rm(dir, { recursive: true, force: true }));

const opts = { label: 'cls', maxImageBytes: 1 << 20 };
const brief = (samples: Awaited<ReturnType<typeof readLabelledShard>>['samples']) =>
  samples.map((s) => (s.skip ? `${s.key} !${s.skip.reason}` : `${s.key} ${'index' in s.label! ? `#${s.label.index}` : s.label!.name}`));

test('.cls holds a class index or a class name; samples come in tar order; other entries are counted', async () => {
  const tar = await tarOf([
    ['b01.png', png],
    ['b01.cls', '3\n'],
    ['a02.jpg', png],
    ['a02.cls', ' Coat '],
    ['a02.txt', 'a caption'],
    ['dir/c03.webp', png],
    ['dir/c03.cls', '0'],
  ]);
  const { samples, skippedEntries } = await readLabelledShard(tar, 'file:///s.tar', opts);
  assert.deepEqual(brief(samples), ['b01 #3', 'a02 Coat', 'dir/c03 #0']);
  assert.deepEqual(skippedEntries, { txt: 1 });
  assert.deepEqual(samples[0]!.image, png);
});

test('a .json field holds the label (integer: index, string: name), as img2dataset writes it', async () => {
  const tar = await tarOf([
    ['0.jpg', png],
    ['0.json', JSON.stringify({ url: 'x', label: 2 })],
    ['1.jpg', png],
    ['1.json', JSON.stringify({ label: 'Bag' })],
    ['2.jpg', png],
    ['2.json', JSON.stringify({ caption: 'no label here' })],
    ['3.jpg', png],
    ['3.json', JSON.stringify({ label: 1.5 })],
    ['4.jpg', png],
    ['4.json', '{not json'],
  ]);
  const { samples } = await readLabelledShard(tar, 'file:///s.tar', { ...opts, label: 'label' });
  assert.deepEqual(brief(samples), ['0 #2', '1 Bag', '2 !no-label', '3 !bad-label', '4 !bad-label']);
});

test('samples without an image or a label, bad labels and oversized images are skipped with reasons', async () => {
  const tar = await tarOf([
    ['a.cls', '1'],
    ['b.png', png],
    ['c.png', png],
    ['c.cls', ''],
    ['d.png', png],
    ['d.cls', 'bad\u0001name'],
    ['e.png', new Uint8Array(3000)],
    ['e.cls', '1'],
  ]);
  const { samples } = await readLabelledShard(tar, 'file:///s.tar', { ...opts, maxImageBytes: 2000 });
  assert.deepEqual(brief(samples), ['a !no-image', 'b !no-label', 'c !no-label', 'd !bad-label', 'e !too-large-file']);
  assert.deepEqual(parseLabel(new TextEncoder().encode('-1'), 'cls'), { index: -1 });
});

test('a malformed shard is a ShardFormatError naming it: truncated, two images for one key, path traversal, gzip', async () => {
  const good = await tarOf([
    ['a.png', png],
    ['a.cls', '1'],
  ]);
  await assert.rejects(readLabelledShard(good.subarray(0, good.length - 1024), 'file:///cut.tar', opts), (err: Error) => err instanceof ShardFormatError && err.message.startsWith('file:///cut.tar'));
  await assert.rejects(readLabelledShard(await tarOf([['a.png', png], ['a.jpg', png]]), 'file:///two.tar', opts), /two images for one key/);
  await assert.rejects(readLabelledShard(await tarOf([['../a.png', png]]), 'file:///evil.tar', opts), /path traversal/);
  await assert.rejects(readLabelledShard(new Uint8Array([0x1f, 0x8b, 8, 0]), 'file:///gz.tar', opts), /gzip/);
});

test('shard lists: brace ranges expand in order; a missing shard, a duplicate or one over maxShardBytes is an error naming it', async () => {
  for (const i of [0, 1, 2]) await writeFile(join(dir, `train-00${i}.tar`), await tarOf([[`k${i}.png`, png], [`k${i}.cls`, '0']]));
  const base = pathToFileURL(dir).href;
  const listed = await listShardInputs([`${base}/train-{000..002}.tar`], 1 << 20, 'dataset.splits.train');
  assert.deepEqual(listed.map((s) => s.uri.slice(base.length)), ['/train-000.tar', '/train-001.tar', '/train-002.tar']);
  assert.ok(listed.every((s) => s.size > 0 && /^\d+:\d+$/.test(s.stamp)));
  await assert.rejects(listShardInputs([`${base}/train-{000..003}.tar`], 1 << 20, 'dataset.splits.train'), (err: Error) => err instanceof DatasetInputError && /dataset\.splits\.train: shard .*train-003\.tar does not exist/.test(err.message));
  await assert.rejects(listShardInputs([`${base}/train-000.tar`, `${base}/train-{000..001}.tar`], 1 << 20, 'w'), /listed twice/);
  await assert.rejects(listShardInputs([`${base}/train-000.tar`], 1024, 'w'), /over maxShardBytes \(1024\); raise maxShardBytes/);
  await assert.rejects(listShardInputs([`${base}/train-{3..1}.tar`], 1024, 'w'), /runs backwards/);
  await rm(join(dir, 'train-002.tar'));
  await assert.rejects(readShardBytes(`${base}/train-002.tar`, 1 << 20, 'dataset.splits.train'), (err: Error) => err instanceof DatasetInputError && /does not exist/.test(err.message));
});
