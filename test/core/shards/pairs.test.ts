// Image-caption shards in img2dataset's layout ({key}.jpg|png + {key}.txt + {key}.json): our
// packer is byte-reproducible, a shard written the way img2dataset writes one (JPEG, NaN in the
// JSON, extra files) is read and decoded to 28x28, and malformed shards fail naming shard and key.
// Run: node --import tsx --test test/pairs-shards.test.ts
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import tar from 'tar-stream';
import {
  decodePairImage,
  decodePairImages,
  packPairShard,
  readPairShard,
  unpackPairShard,
  type PairSampleInput,
} from '../../../core/shards/pairs.js';
import { ShardFormatError } from '../../../core/shards/webdataset.js';
import { decodeGrayPng, encodeGrayPng, MalformedImageError } from '../../../core/png.js';

const URI = 'gs://lab-bucket/laion-subset/00000.tar';
const enc = (text: string) => new TextEncoder().encode(text);

/**
 * A tar written entry by entry as Python's tarfile writes img2dataset's shards: a float mtime goes
 * in a PAX extended header before each entry.
 */
async function rawTar(entries: { name: string; data?: Uint8Array; type?: 'file' | 'directory' | 'symlink'; linkname?: string }[], finalize = true): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((res, rej) => {
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    pack.on('end', () => res());
    pack.on('error', rej);
  });
  for (const e of entries) {
    const data = Buffer.from(e.data ?? new Uint8Array(0));
    const header = { name: e.name, type: e.type ?? 'file', size: data.length, mtime: new Date(1_700_000_000_000), pax: { mtime: '1700000000.123456' }, ...(e.linkname ? { linkname: e.linkname } : {}) };
    await new Promise<void>((res, rej) => pack.entry(header, data, (err) => (err ? rej(err) : res())));
  }
  pack.finalize();
  await done;
  const bytes = new Uint8Array(Buffer.concat(chunks));
  // Without the two zero blocks (and record padding) that end an archive.
  if (!finalize) {
    let end = bytes.length;
    while (end >= 512 && bytes.subarray(end - 512, end).every((b) => b === 0)) end -= 512;
    return bytes.subarray(0, end);
  }
  return bytes;
}

/** A 64x48 RGB JPEG: a light rectangle on a dark ground. */
async function jpeg(seed: number): Promise<Uint8Array> {
  const raw = Buffer.alloc(64 * 48 * 3);
  for (let y = 0; y < 48; y++) {
    for (let x = 0; x < 64; x++) {
      const inside = x > 12 + seed && x < 52 && y > 8 && y < 40;
      raw.set(inside ? [200, 180 - seed * 10, 160] : [20, 30, 40], (y * 64 + x) * 3);
    }
  }
  return new Uint8Array(await sharp(raw, { raw: { width: 64, height: 48, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
}

function grayPng(index: number): Uint8Array {
  return encodeGrayPng(new Uint8Array(784).map((_, i) => (i * 7 + index * 13) % 256), 28, 28);
}

function pair(index: number, caption = `a photo of item ${index}`): PairSampleInput {
  return { key: String(index).padStart(9, '0'), image: grayPng(index), ext: 'png', caption, meta: { url: `https://example.com/${index}.png`, status: 'success', index } };
}

/** Rejects with a ShardFormatError whose message names the shard and `key`. */
async function rejectsNaming(promise: Promise<unknown>, key: string, why: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ShardFormatError, `not a ShardFormatError: ${err}`);
    assert.ok(err.message.includes(URI), `shard not named: ${err.message}`);
    assert.ok(err.message.includes(key), `key ${key} not named: ${err.message}`);
    assert.match(err.message, why);
    return true;
  });
}

test('pair shards round-trip and are byte-reproducible whatever the input order', async () => {
  const samples = Array.from({ length: 12 }, (_, i) => pair(i, i === 3 ? '  a\tphoto\r\nof  item 3 ' : undefined));
  const bytes = await packPairShard(samples);
  // Input order and metadata key order do not change the bytes.
  const shuffled = [...samples].reverse().map((s) => ({ ...s, meta: Object.fromEntries(Object.entries(s.meta).reverse()) }));
  assert.deepEqual(await packPairShard(shuffled), bytes);
  const back = await unpackPairShard(bytes, URI);
  assert.deepEqual(back.map((s) => s.key), samples.map((s) => s.key));
  assert.equal(back[3]!.caption, 'a photo of item 3', 'whitespace and control characters normalized');
  assert.deepEqual(back[5]!.meta, samples[5]!.meta);
  assert.deepEqual(back[5]!.image, samples[5]!.image);
  assert.equal(back[5]!.ext, 'png');
  await assert.rejects(packPairShard([pair(1), pair(1)]), /duplicate key/);
  await assert.rejects(packPairShard([pair(1, ' \n ')]), /caption is 0 bytes/);
  await assert.rejects(packPairShard([{ ...pair(1), key: '../x' }]), /key must be/);
});

test('an img2dataset-written shard (JPEG, NaN in JSON, extra files) is read and decoded to 28x28', async () => {
  const entries = [];
  for (let i = 0; i < 3; i++) {
    const key = String(i).padStart(9, '0');
    const meta = `{"url": "https://example.com/${i}.jpg", "caption": "caption ${i}", "key": "${key}", "status": "success", "error_message": null, "width": 64, "height": 48, "original_width": 640, "original_height": 480, "punsafe": NaN, "similarity": -Infinity, "note": "NaN stays a string"}`;
    // webdataset's TarWriter order: image, caption, metadata; then a file we do not read.
    entries.push({ name: `${key}.jpg`, data: await jpeg(i) }, { name: `${key}.txt`, data: enc(`A red café\u00a0sign, photo ${i}\n`) }, { name: `${key}.json`, data: enc(meta) });
    entries.push({ name: `${key}.npy`, data: new Uint8Array(16) });
  }
  entries.push({ name: '000000099.jpg', data: await jpeg(4) }, { name: '000000099.txt', data: enc('   ') }); // img2dataset writes "" for a missing caption
  const contents = await readPairShard(await rawTar(entries), URI);
  assert.deepEqual(contents.samples.map((s) => s.key), ['000000000', '000000001', '000000002']);
  assert.deepEqual(contents.skippedEntries, { npy: 3 });
  assert.deepEqual(contents.emptyCaptions, ['000000099']);
  const first = contents.samples[0]!;
  assert.equal(first.caption, 'A red café sign, photo 0');
  assert.equal(first.ext, 'jpg');
  assert.equal(first.meta.punsafe, null);
  assert.equal(first.meta.similarity, null);
  assert.equal(first.meta.note, 'NaN stays a string');
  assert.equal(first.meta.width, 64);
  const pixels = await decodePairImage(first.image, `${URI} [${first.key}]`);
  assert.equal(pixels.length, 784);
  // Light object in the middle, dark ground at the corner.
  assert.ok(pixels[14 * 28 + 18]! > 150 && pixels[0]! < 60, `centre ${pixels[14 * 28 + 18]}, corner ${pixels[0]}`);
  const all = await decodePairImages(contents.samples, URI);
  assert.equal(all.length, 3 * 784);
  assert.deepEqual(all.subarray(0, 784), pixels);
  // `tar -C dir .` names: "./" directory entry and "./"-prefixed files are accepted.
  const dotted = await readPairShard(await rawTar([{ name: './', type: 'directory' }, { name: './000000007.png', data: grayPng(7) }, { name: './000000007.txt', data: enc('a coat') }]), URI);
  assert.deepEqual(dotted.samples.map((s) => [s.key, s.caption, s.meta]), [['000000007', 'a coat', {}]]);
  assert.deepEqual(dotted.skippedEntries, { dir: 1 });
});

test('malformed shards fail with a ShardFormatError naming the shard and the key', async () => {
  const img = grayPng(1);
  const k = '000000001';
  await rejectsNaming(readPairShard(await rawTar([{ name: `${k}.png`, data: img }, { name: `${k}.json`, data: enc('{}') }]), URI), k, /image without a caption/);
  await rejectsNaming(readPairShard(await rawTar([{ name: `${k}.txt`, data: enc('a bag') }, { name: `${k}.json`, data: enc('{}') }]), URI), k, /caption without an image/);
  await rejectsNaming(readPairShard(await rawTar([{ name: `${k}.txt`, data: enc('a') }, { name: `${k}.png`, data: img }, { name: `${k}.txt`, data: enc('b') }]), URI), k, /duplicate \.txt/);
  await rejectsNaming(readPairShard(await rawTar([{ name: `${k}.png`, data: img }, { name: `${k}.jpg`, data: img }, { name: `${k}.txt`, data: enc('b') }]), URI), k, /two images \(\.png and \.jpg\)/);
  await rejectsNaming(readPairShard(await rawTar([{ name: `${k}.png`, data: img }, { name: '../evil.txt', data: enc('x') }]), URI), '../evil.txt', /path traversal/);
  await rejectsNaming(readPairShard(await rawTar([{ name: '/etc/000000002.txt', data: enc('x') }]), URI), '/etc/000000002.txt', /absolute path/);
  await rejectsNaming(readPairShard(await rawTar([{ name: 'images/000000002.jpg', data: img }]), URI), 'images/000000002.jpg', /subdirectory/);
  await rejectsNaming(readPairShard(await rawTar([{ name: `${k}.png`, type: 'symlink', linkname: '/etc/passwd' }]), URI), k, /symlink, expected a regular file/);
  await rejectsNaming(readPairShard(await rawTar([{ name: `${k}.png`, data: img }, { name: `${k}.txt`, data: enc('x'.repeat(8 * 1024 + 1)) }]), URI), k, /8193 bytes, over the caption cap of 8192/);
  await rejectsNaming(readPairShard(await rawTar([{ name: `${k}.png`, data: img }, { name: `${k}.txt`, data: enc('a') }]), URI, { maxImageBytes: 50 }), k, /over the image cap of 50/);
  await rejectsNaming(readPairShard(await rawTar([{ name: `${k}.png`, data: img }, { name: `${k}.txt`, data: new Uint8Array([0x61, 0xff, 0x62]) }]), URI), k, /not valid UTF-8/);
  await rejectsNaming(readPairShard(await rawTar([{ name: `${k}.png`, data: img }, { name: `${k}.txt`, data: enc('a') }, { name: `${k}.json`, data: enc('[1]') }]), URI), k, /not a JSON object/);
  await rejectsNaming(readPairShard(await rawTar([{ name: `${k}.png`, data: img }, { name: `${k}.txt`, data: enc('a') }, { name: `${k}.json`, data: enc('{"a": ') }]), URI), k, /not valid JSON/);
  const many = Array.from({ length: 5 }, (_, i) => ({ name: `00000000${i}.npy`, data: new Uint8Array(1) }));
  await rejectsNaming(readPairShard(await rawTar(many), URI, { maxEntries: 4 }), '000000004.npy', /more than 4 tar entries/);
  const samples = Array.from({ length: 3 }, (_, i) => [{ name: `00000000${i}.png`, data: img }, { name: `00000000${i}.txt`, data: enc('a') }]).flat();
  await rejectsNaming(readPairShard(await rawTar(samples), URI, { maxSamples: 2 }), '000000002', /more than 2 samples/);
});

test('truncated, corrupt and non-tar bytes fail naming the shard (and the entry being read)', async () => {
  const shard = await packPairShard([pair(0), pair(1)]);
  // Entries: 000000000.json, 000000000.png, 000000000.txt, ...; cut inside the first PNG's data.
  const pngStart = 512 + 512 + 512; // json header + json data block + png header
  await rejectsNaming(readPairShard(shard.subarray(0, pngStart + 40), URI), '000000000.png', /truncated tar: 000000000\.png is cut short/);
  // Cut inside a header, after complete entries.
  await rejectsNaming(readPairShard(shard.subarray(0, pngStart + 512 + 100), URI), '000000000.png', /truncated or corrupt tar after entry/);
  // Garbage after valid entries.
  const open = await rawTar([{ name: '000000005.png', data: grayPng(5) }, { name: '000000005.txt', data: enc('a') }], false);
  const garbage = new Uint8Array(open.length + 1024).fill(0x37);
  garbage.set(open);
  await rejectsNaming(readPairShard(garbage, URI), '000000005.txt', /corrupt tar after entry 000000005\.txt/);
  // Garbage only: no key to name; the shard is named.
  await assert.rejects(readPairShard(new Uint8Array(2048).fill(7), URI), (err: Error) => err instanceof ShardFormatError && err.message.startsWith(`${URI}: not a tar archive`));
  await assert.rejects(readPairShard(new Uint8Array(0), URI), /empty file/);
  await assert.rejects(readPairShard(new Uint8Array([0x1f, 0x8b, 8, 0]), URI), /gzip-compressed/);
});

test('decodePairImage caps pixels before decoding and names where the bytes came from', async () => {
  const where = `${URI} [000000003]`;
  await assert.rejects(decodePairImage(await jpeg(0), where, { maxPixels: 1000 }), (err: Error) => err instanceof MalformedImageError && err.message.startsWith(where) && /64x48 = 3072 pixels, over the cap of 1000/.test(err.message));
  await assert.rejects(decodePairImage(enc('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), where), /unexpected image format svg/);
  await assert.rejects(decodePairImage(new Uint8Array([1, 2, 3, 4]), where), (err: Error) => err instanceof MalformedImageError && err.message.startsWith(where));
  // A 28x28 grey PNG decodes to exactly its pixels (no resampling at the same size).
  assert.deepEqual(await decodePairImage(grayPng(9), where), decodeGrayPng(grayPng(9), 28, 28, 'x'));
});

test('entry names in errors are escaped and capped: no raw control characters, no huge names', async () => {
  const hostile = `\u001b[31m${'a'.repeat(5000)}`;
  await assert.rejects(readPairShard(await rawTar([{ name: `${hostile}.png`, data: grayPng(1) }]), URI), (err: Error) => {
    assert.ok(err instanceof ShardFormatError);
    assert.ok(!/\p{Cc}/u.test(err.message), 'no control characters');
    assert.ok(err.message.includes('\\u001b[31m'), err.message.slice(0, 200));
    assert.ok(err.message.length < 1400, `message of ${err.message.length} characters`);
    return true;
  });
});
