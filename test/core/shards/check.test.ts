// The shard-set check on real shards in a temp dir: counts, the first bad entry of each way a shard
// goes bad (asserted word for word), missing shards, too few samples, names escaped, the brace cap,
// and agreement with the importer (what the check passes, readPairShard reads; what it refuses, the
// importer refuses too).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MAX_SHARDS, countBraceExpansion, expandShardPatterns, shardListProblem } from '../../../core/shards/brace.js';
import { checkShardSet, problemLine, shardUris, type ShardSetReport } from '../../../core/shards/check.js';
import { probeImageHeader, ImageHeaderProbe } from '../../../core/shards/image-header.js';
import { readPairShard } from '../../../core/shards/pairs.js';
import { packShard } from '../../../core/shards/webdataset.js';
import { greyPng, pairShard, rawTar, rgbJpeg, writeShards } from './check-fixtures.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shards-check-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Check one shard `bytes` written as `name` in a fresh folder; the report and its one problem line. */
async function checkOne(name: string, bytes: Uint8Array, opts: Parameters<typeof checkShardSet>[1] = {}): Promise<{ report: ShardSetReport; line: string | undefined }> {
  const sub = await mkdtemp(join(dir, 'one-'));
  await writeShards(sub, { [name]: bytes });
  const report = await checkShardSet(shardUris([join(sub, name)]), opts);
  return { report, line: report.problems[0] ? problemLine({ ...report.problems[0], shard: name }) : undefined };
}

test('a good img2dataset set: per-shard counts, sizes and totals, as the importer counts them', async () => {
  const set = join(dir, 'good');
  const shards = { '00000.tar': await pairShard(0, 12), '00001.tar': await pairShard(1, 7), '00002.tar': await pairShard(2, 3) };
  await writeShards(set, shards);
  const report = await checkShardSet(shardUris([join(set, '{00000..00002}.tar')]), { minSamples: 22 });
  assert.equal(report.ok, true, JSON.stringify(report.problems));
  assert.equal(report.layout, 'img2dataset');
  assert.deepEqual(report.shards.map((s) => [s.status, s.samples]), [['ok', 12], ['ok', 7], ['ok', 3]]);
  assert.equal(report.totalSamples, 22);
  assert.equal(report.totalBytes, Object.values(shards).reduce((n, b) => n + b.byteLength, 0));
  for (const [name, bytes] of Object.entries(shards)) {
    const imported = await readPairShard(bytes, name);
    assert.equal(imported.samples.length, report.shards.find((s) => s.uri.endsWith(name))!.samples);
  }
});

test('a missing shard in a range is named, and so is a set with fewer samples than asked for', async () => {
  const set = join(dir, 'gap');
  await writeShards(set, { '00000.tar': await pairShard(0, 4), '00002.tar': await pairShard(2, 4) });
  const report = await checkShardSet(shardUris([join(set, '{00000..00002}.tar')]), { minSamples: 10 });
  assert.equal(report.ok, false);
  assert.deepEqual(report.missing, [`file://${set}/00001.tar`]);
  assert.deepEqual(report.problems.map(problemLine), [
    `file://${set}/00001.tar: does not exist (check the shard list and its {00000..00099} ranges)`,
    'shard set: 8 samples in all (in the shards that could be read), fewer than the 10 required',
  ]);
});

test('the first bad entry of each broken shard, word for word, and the importer refuses the same shards', async () => {
  const good = await pairShard(0, 3);
  const png = greyPng(1);
  const cases: { name: string; bytes: Uint8Array; line: string }[] = [
    { name: 'cut.tar', bytes: good.subarray(0, 1800), line: 'cut.tar [000000000.png]: truncated tar: 000000000.png is cut short (Unexpected end of data)' },
    { name: 'no-end.tar', bytes: good.subarray(0, good.byteLength - 1024), line: `no-end.tar: truncated tar: no end-of-archive marker after the last entry (${good.byteLength - 1024} bytes)` },
    {
      name: 'no-caption.tar',
      bytes: await rawTar([{ name: 'a.json', data: '{}' }, { name: 'a.png', data: png }, { name: 'b.png', data: png }, { name: 'b.txt', data: 'b' }]),
      line: 'no-caption.tar [a]: image without a caption (a.txt)',
    },
    { name: 'no-image.tar', bytes: await rawTar([{ name: 'a.txt', data: 'a shirt' }]), line: 'no-image.tar [a]: caption without an image (.jpg, .jpeg, .png or .webp)' },
    {
      name: 'bad-image.tar',
      bytes: await rawTar([{ name: 'a.jpg', data: 'hello, not an image at all' }, { name: 'a.txt', data: 'x' }]),
      line: 'bad-image.tar [a]: a.jpg: not a PNG, JPEG or WebP image (starts with 68 65 6c 6c)',
    },
    { name: 'not-tar.tar', bytes: new TextEncoder().encode('x'.repeat(2048)), line: 'not-tar.tar: not a tar archive (Invalid tar header. Maybe the tar is corrupted or it needs to be gunzipped?)' },
    { name: 'gzip.tar', bytes: new Uint8Array([0x1f, 0x8b, 8, 0, ...new Array(600).fill(0)]), line: 'gzip.tar: gzip-compressed; expected an uncompressed tar' },
    { name: 'bad-json.tar', bytes: await rawTar([{ name: 'a.json', data: '[1]' }, { name: 'a.png', data: png }, { name: 'a.txt', data: 'x' }]), line: 'bad-json.tar [a]: metadata is not a JSON object' },
  ];
  for (const c of cases) {
    const { report, line } = await checkOne(c.name, c.bytes);
    assert.equal(line, c.line, c.name);
    assert.equal(report.shards[0]!.status, 'bad');
    await assert.rejects(
      async () => {
        const { samples } = await readPairShard(c.bytes, c.name);
        // The importer reads the tar whole; an image it cannot decode fails when it decodes it.
        if (c.name === 'bad-image.tar' || c.name === 'no-end.tar') throw new Error(`importer read ${samples.length} samples, decode would fail`);
      },
      Error,
      c.name,
    );
  }
});

test('keys out of order are refused (unless the import order does not matter), and counted either way', async () => {
  const png = greyPng(2);
  const bytes = await rawTar([
    { name: 'b.png', data: png },
    { name: 'b.txt', data: 'b' },
    { name: 'a.png', data: png },
    { name: 'a.txt', data: 'a' },
  ]);
  const strict = await checkOne('order.tar', bytes);
  assert.equal(strict.line, 'order.tar [a]: sample key out of order: "a" comes after "b"; WebDataset readers group consecutive entries by key, so write the tar with its entries sorted by name');
  const lenient = await checkOne('order.tar', bytes, { requireKeyOrder: false });
  assert.equal(lenient.report.ok, true);
  assert.equal(lenient.report.totalSamples, 2);
});

test('empty captions are counted apart (the import skips them); other entries are skipped and counted', async () => {
  const png = greyPng(3);
  const bytes = await rawTar([
    { name: 'a.npy', data: 'x' },
    { name: 'a.png', data: png },
    { name: 'a.txt', data: '  \n ' },
    { name: 'b.png', data: png },
    { name: 'b.txt', data: 'b' },
  ]);
  const { report } = await checkOne('empty.tar', bytes);
  assert.deepEqual([report.ok, report.shards[0]!.samples, report.shards[0]!.emptyCaptions, report.shards[0]!.skippedEntries], [true, 1, 1, { npy: 1 }]);
  assert.equal((await readPairShard(bytes, 'empty.tar')).samples.length, 1);
});

test('untrusted names are escaped in reports: no control characters reach a terminal', async () => {
  const bytes = await rawTar([{ name: 'a\u001b[31mred.txt', data: 'x' }]);
  const { report, line } = await checkOne('evil\u001b]0;title\u0007.tar', bytes);
  assert.equal(report.ok, false);
  assert.equal(line, 'evil\u001b]0;title\u0007.tar [a\\x1b[31mred.txt]: entry "a\\x1b[31mred.txt" refused: key must be 1-128 of [A-Za-z0-9_-], starting with a letter or digit');
  assert.ok(!/[\u0000-\u001f]/.test(report.shards[0]!.uri), 'the shard name is escaped too');
  assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(report.shards[0]!.problem!.message));
});

test('a header over the pixel cap, and a synthscale shard (auto-detected) missing its metadata', async () => {
  const huge = greyPng(4).slice();
  new DataView(huge.buffer).setUint32(16, 5000);
  new DataView(huge.buffer).setUint32(20, 5000);
  const { line } = await checkOne('huge.tar', await rawTar([{ name: 'a.png', data: huge }, { name: 'a.txt', data: 'x' }]));
  assert.equal(line, 'huge.tar [a]: a.png: its header claims 5000x5000 pixels, over the cap of 16777216 pixels');
  const meta = { label: 1, className: 'Trouser', source: 's', index: 0 };
  const ours = await packShard([{ key: '000000000', png: greyPng(5), meta }, { key: '000000001', png: greyPng(6), meta: { ...meta, index: 1 } }]);
  const ok = await checkOne('ours.tar', ours);
  assert.deepEqual([ok.report.layout, ok.report.ok, ok.report.totalSamples], ['webdataset', true, 2]);
  const lacking = await rawTar([{ name: '000000000.json', data: JSON.stringify(meta) }, { name: '000000000.png', data: greyPng(5) }, { name: '000000001.png', data: greyPng(6) }]);
  assert.equal((await checkOne('lacking.tar', lacking)).line, 'lacking.tar [000000001]: sample lacks its .json');
});

test('image headers: PNG, JPEG (its frame header after a large segment, fed a byte at a time), WebP', async () => {
  assert.deepEqual(probeImageHeader(greyPng(7)), { format: 'png', width: 8, height: 8 });
  const jpeg = await rgbJpeg();
  // An APP1 segment of 60,000 bytes before the rest: the frame header comes after it.
  const app1 = new Uint8Array(4 + 60_000);
  app1.set([0xff, 0xe1, (60_002 >> 8) & 0xff, 60_002 & 0xff]);
  const padded = new Uint8Array([...jpeg.subarray(0, 2), ...app1, ...jpeg.subarray(2)]);
  const probe = new ImageHeaderProbe();
  for (const byte of padded) probe.push(new Uint8Array([byte]));
  assert.deepEqual(probe.end(), { format: 'jpeg', width: 16, height: 12 });
  assert.deepEqual(probeImageHeader(padded.subarray(0, 40_000)), { error: 'image ends after 40000 bytes, before its header says its size' });
  const sharp = (await import('sharp')).default;
  const webp = await sharp(Buffer.alloc(10 * 6 * 3, 9), { raw: { width: 10, height: 6, channels: 3 } }).webp({ lossless: true }).toBuffer();
  assert.deepEqual(probeImageHeader(webp), { format: 'webp', width: 10, height: 6 });
  const lossy = await sharp(Buffer.alloc(10 * 6 * 3, 9), { raw: { width: 10, height: 6, channels: 3 } }).webp().toBuffer();
  assert.deepEqual(probeImageHeader(lossy), { format: 'webp', width: 10, height: 6 });
});

test('brace ranges are capped before anything is expanded, with the cap and the fix in the message', () => {
  const t0 = performance.now();
  assert.throws(
    () => shardUris(['data/{0..99999999}.tar']),
    { message: `data/{0..99999999}.tar names 100000000 shards, more than ${MAX_SHARDS} (the cap on shards per source); name fewer shards (a narrower range), or split them across several sources` },
  );
  assert.ok(performance.now() - t0 < 50, 'fails at once');
  assert.equal(countBraceExpansion('gs://b/{0..999}/{a,b,c}.tar'), 3000);
  assert.throws(() => expandShardPatterns(['x/{000..999}/{000..999}.tar']), /names 1000000 shards, more than 100000/);
  assert.throws(() => expandShardPatterns(Array.from({ length: 3 }, (_, i) => `x${i}/{00000..49999}.tar`)), /the 3 shard patterns together names 150000 shards/);
  assert.throws(() => expandShardPatterns(['a.tar', 'a.tar']), /"a.tar" is listed twice/);
  assert.equal(expandShardPatterns([`x/{00000..${MAX_SHARDS - 1}}.tar`]).length, MAX_SHARDS);
  // The spec's check: counted, never expanded.
  assert.equal(shardListProblem(['gs://b/{00000..00099}.tar', 'gs://b/extra.tar']), undefined);
  assert.equal(shardListProblem(['gs://b/{0..99999999}.tar']), 'gs://b/{0..99999999}.tar names 100000000 shards, more than 100000 (the cap on shards per source); name fewer shards (a narrower range), or split them across several sources');
  assert.match(shardListProblem(['a/{0..60000}.tar', 'b/{0..60000}.tar'])!, /^the 2 shard patterns together names 120002 shards/);
  assert.equal(shardListProblem(['a/{9..1}.tar']), 'a/{9..1}.tar: range {9..1} runs backwards');
  assert.equal(shardListProblem(['gs://b/{0..99999999999999999999}.tar'])?.split(';')[0], 'gs://b/{0..99999999999999999999}.tar names more than 2^53 shards, more than 100000 (the cap on shards per source)');
});

test('with samplesNeeded, shards past the count are only looked up (a bad one there is not read)', async () => {
  const set = join(dir, 'prefix');
  await writeShards(set, { '0.tar': await pairShard(0, 5), '1.tar': await pairShard(1, 5), '2.tar': new TextEncoder().encode('junk') });
  const report = await checkShardSet(shardUris([join(set, '{0..2}.tar')]), { samplesNeeded: 5, concurrency: 1 });
  assert.deepEqual(report.shards.map((s) => s.status), ['ok', 'unread', 'unread']);
  assert.equal(report.ok, true);
  const all = await checkShardSet(shardUris([join(set, '{0..2}.tar')]));
  assert.deepEqual(all.shards.map((s) => s.status), ['ok', 'ok', 'bad']);
  assert.equal(all.problems[0]!.message, 'not a tar archive (Unexpected end of data)');
});

test('a read that fails midway (network, I/O) is an error to retry, not a verdict on the shard', async () => {
  const bytes = await pairShard(0, 20);
  const access = {
    stat: async () => ({ size: bytes.byteLength }),
    open: async () =>
      (async function* () {
        yield bytes.subarray(0, 4096);
        throw new Error('ECONNRESET');
      })(),
  };
  await assert.rejects(checkShardSet(['gs://bucket/00000.tar'], { access }), (err: Error & { code?: string }) => err.code === 'E_SHARD_READ' && err.message === 'ECONNRESET');
});
