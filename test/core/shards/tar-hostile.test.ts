// Our shard format (activities/shards/webdataset.ts) read from crafted, malicious tars: every case
// is refused with a ShardFormatError that names the shard and, where there is one, the entry.
// The tars are built byte by byte here (ustar headers, PAX records, base-256 sizes), so the cases
// do not depend on what a tar writer is willing to produce.
// Run: node --import tsx --test test/tar-hostile.test.ts
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { packShard, sampleKey, ShardFormatError, unpackShard, type ShardSample } from '../../../core/shards/webdataset.js';

const SHARD = 'gs://bucket/sources/synthetic-abc/shard-000007.tar';
const enc = (text: string) => new TextEncoder().encode(text);
const LIMITS = { maxSamples: 16, maxEntryBytes: 4096 };

type TypeFlag = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | 'x' | 'g' | 'L';

function octal(h: Uint8Array, offset: number, length: number, value: number): void {
  h.set(enc(value.toString(8).padStart(length - 1, '0')), offset);
}

/** A ustar header block; `sizeField` replaces the 12-byte size field (e.g. base-256). */
function header(name: string, size: number, opts: { type?: TypeFlag; linkname?: string; sizeField?: Uint8Array } = {}): Uint8Array {
  const h = new Uint8Array(512);
  h.set(enc(name).subarray(0, 100), 0);
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  if (opts.sizeField) h.set(opts.sizeField, 124);
  else octal(h, 124, 12, size);
  octal(h, 136, 12, 0);
  h[156] = (opts.type ?? '0').charCodeAt(0);
  if (opts.linkname) h.set(enc(opts.linkname).subarray(0, 100), 157);
  h.set(enc('ustar\u0000'), 257);
  h.set(enc('00'), 263);
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  h.set(enc(`${sum.toString(8).padStart(6, '0')}\u0000 `), 148);
  return h;
}

function padded(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 512) * 512);
  out.set(data);
  return out;
}

/** One entry: header then data padded to a block. */
function entry(name: string, data: Uint8Array = new Uint8Array(0), opts: Parameters<typeof header>[2] = {}): Uint8Array[] {
  return [header(name, data.length, opts), padded(data)];
}

/** A PAX extended header ('x') carrying `records` for the next entry. */
function pax(records: Record<string, string>, type: 'x' | 'g' = 'x'): Uint8Array[] {
  let text = '';
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    text += `${len}${body}`;
  }
  return entry('PaxHeader', enc(text), { type });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Entries, then the two zero blocks that end an archive. */
const archive = (...entries: Uint8Array[][]) => concat([...entries.flat(), new Uint8Array(1024)]);

const META = (index: number) => enc(JSON.stringify({ label: index % 10, className: 'c', source: 's', index }));
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
const sampleEntries = (index: number) => [entry(`${sampleKey(index)}.json`, META(index)), entry(`${sampleKey(index)}.png`, PNG)];

/** unpackShard rejects with a ShardFormatError naming the shard, `entry` (when given) and `why`. */
async function refused(bytes: Uint8Array, entryName: string | undefined, why: RegExp, limits = LIMITS): Promise<ShardFormatError> {
  let caught: unknown;
  try {
    await unpackShard(bytes, SHARD, limits);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ShardFormatError, `expected a ShardFormatError, got ${String(caught)}`);
  assert.equal(caught.shard, SHARD);
  assert.ok(caught.message.startsWith(SHARD), `shard not named first: ${caught.message}`);
  if (entryName !== undefined) assert.ok(caught.message.includes(entryName), `entry ${entryName} not named: ${caught.message}`);
  assert.match(caught.message, why);
  assert.ok(caught.message.length < 600, `message is bounded (${caught.message.length} chars)`);
  return caught;
}

test('control: a hand-built archive in our format is read', async () => {
  const samples = await unpackShard(archive(...sampleEntries(1), ...sampleEntries(2)), SHARD, LIMITS);
  assert.deepEqual(samples.map((s) => s.key), [sampleKey(1), sampleKey(2)]);
  assert.deepEqual(samples[0]!.png, PNG);
  // A PAX header with harmless records (as Python's tarfile writes) is fine too.
  const withPax = await unpackShard(archive(pax({ mtime: '1700000000.5' }), ...sampleEntries(3)), SHARD, LIMITS);
  assert.equal(withPax.length, 1);
});

test('path traversal, absolute, nested, backslash and odd names are refused, naming the entry', async () => {
  for (const name of [
    '../000000001.png',
    '../../etc/passwd',
    '/etc/000000001.png',
    '/000000001.json',
    'sub/000000001.png',
    './000000001.png',
    '..\\..\\000000001.png',
    'C:\\000000001.png',
    '000000001.PNG',
    '000000001.png.exe',
    '000000001.txt',
    '.png',
    '-rf.png',
  ]) {
    await refused(archive(...sampleEntries(0), entry(name, PNG)), JSON.stringify(name), /unexpected entry name/);
  }
});

test('names smuggled through PAX and GNU long-name records are checked too', async () => {
  await refused(archive(pax({ path: '../../../tmp/000000001.png' }), entry('000000001.png', PNG)), '../../../tmp/000000001.png', /unexpected entry name/);
  await refused(archive(entry('././@LongLink', enc('/abs/000000001.png\u0000'), { type: 'L' }), entry('000000001.png', PNG)), '/abs/000000001.png', /unexpected entry name/);
  // tar-stream applies a PAX global header's records only together with a local PAX header.
  await refused(archive(pax({ path: '../g.png' }, 'g'), pax({ mtime: '1' }), ...sampleEntries(1)), '../g.png', /unexpected entry name/);
  assert.deepEqual((await unpackShard(archive(pax({ path: '../g.png' }, 'g'), ...sampleEntries(1)), SHARD, LIMITS)).map((s) => s.key), [sampleKey(1)]);
  // NUL and control characters in a PAX path are shown escaped, never raw.
  const err = await refused(archive(pax({ path: '000000001\u0000.png\u001b[2J' }), entry('000000001.png', PNG)), '\\u0000', /unexpected entry name/);
  assert.doesNotMatch(err.message, /[\u0000\u001b]/);
});

test('a PAX header with a huge path is refused with a bounded message', async () => {
  const huge = `${'a/'.repeat(200_000)}000000001.png`;
  const err = await refused(archive(pax({ path: huge }), entry('000000001.png', PNG)), 'a/a/a/', /unexpected entry name/);
  assert.match(err.message, /\(400013 characters\)/);
  // Over tar-stream's 4 MiB cap on extended headers: refused before it is buffered.
  const huger = `${'b'.repeat(5 * 1024 * 1024)}.png`;
  await refused(archive(pax({ path: huger }), entry('000000001.png', PNG)), undefined, /not a tar archive \(Header exceeds max size\)/);
});

test('symlinks, hard links, devices, fifos and directories are refused', async () => {
  const cases: [TypeFlag, string, RegExp][] = [
    ['2', '000000001.png', /is a symlink, expected a regular file/],
    ['1', '000000001.png', /is a link, expected a regular file/],
    ['3', '000000001.png', /is a character-device, expected a regular file/],
    ['4', '000000001.png', /is a block-device, expected a regular file/],
    ['6', '000000001.png', /is a fifo, expected a regular file/],
    ['5', 'dir', /is a directory, expected a regular file/],
    ['7', '000000001.png', /is a contiguous-file, expected a regular file/],
  ];
  for (const [type, name, why] of cases) {
    await refused(archive(...sampleEntries(0), entry(name, new Uint8Array(0), { type, linkname: '/etc/shadow' })), name, why);
  }
});

test('duplicate keys are refused, naming the key', async () => {
  await refused(archive(...sampleEntries(1), entry(`${sampleKey(1)}.png`, PNG)), sampleKey(1), /duplicate entry "000000001.png"/);
  await refused(archive(...sampleEntries(1), entry(`${sampleKey(1)}.json`, META(1))), sampleKey(1), /duplicate entry "000000001.json"/);
  // Our own writer refuses them too.
  const s: ShardSample = { key: sampleKey(1), png: PNG, meta: { label: 1, className: 'c', source: 's', index: 1 } };
  await assert.rejects(packShard([s, s]), /duplicate sample key/);
});

test('entries over the size cap are refused: declared in the header, in a PAX size, or in base-256', async () => {
  const big = new Uint8Array(LIMITS.maxEntryBytes + 1).fill(7);
  await refused(archive(entry('000000001.png', big)), '000000001', /declares 4097 bytes, limit 4096/);
  // The PAX size overrides the ustar one (0 here): the declared size is what the stream will carry.
  await refused(archive(pax({ size: String(big.length) }), [header('000000001.png', 0), padded(big)]), '000000001', /declares 4097 bytes, limit 4096/);
  // A base-256 size field (GNU) of 2^40 bytes.
  const base256 = new Uint8Array(12);
  base256[0] = 0x80;
  base256[6] = 1;
  await refused(archive([header('000000001.png', 0, { sizeField: base256 })]), '000000001', /declares 1099511627776 bytes, limit 4096/);
  // A negative or unparsable PAX size is a corrupt header.
  await refused(archive(pax({ size: '-5' }), entry('000000001.png', PNG)), undefined, /not a tar archive \(Invalid header\)/);
  // Exactly at the cap is fine; the streamed bytes are counted against the same cap.
  const atCap = archive(entry('000000001.png', big.subarray(1)), entry('000000001.json', META(1)));
  assert.equal((await unpackShard(atCap, SHARD, LIMITS))[0]!.png.length, LIMITS.maxEntryBytes);
});

test('more samples than the limit are refused', async () => {
  const entries = Array.from({ length: 5 }, (_, i) => sampleEntries(i)).flat();
  await refused(archive(...entries), sampleKey(4), /more than 4 samples/, { ...LIMITS, maxSamples: 4 });
});

test('truncated archives are refused: inside data, inside a header, and at an entry boundary', async () => {
  const whole = archive(...sampleEntries(1), ...sampleEntries(2));
  // Header of 000000001.json at 0, its data at 512; 000000001.png header at 1024, data at 1536.
  await refused(whole.subarray(0, 1536 + 3), '000000001.png', /truncated tar: entry "000000001.png" is cut short/);
  await refused(whole.subarray(0, 1024 + 300), '000000001.json', /truncated or corrupt tar after entry "000000001.json"/);
  // Cut exactly after sample 1: a valid-looking tar that silently lost sample 2 without this check.
  await refused(whole.subarray(0, 2048), undefined, /no end-of-archive marker/);
  await refused(whole.subarray(0, whole.length - 512), undefined, /no end-of-archive marker/);
  // A real shard cut anywhere in its last 1 KiB.
  const real = await packShard([{ key: sampleKey(9), png: PNG, meta: { label: 9, className: 'c', source: 's', index: 9 } }]);
  for (const cut of [real.length - 1, real.length - 512, real.length - 1024]) {
    await assert.rejects(unpackShard(real.subarray(0, cut), SHARD, LIMITS), ShardFormatError);
  }
});

test('a sample missing its .png or .json, and bad metadata, are refused naming the key', async () => {
  await refused(archive(entry(`${sampleKey(1)}.json`, META(1))), sampleKey(1), /lacks its \.png/);
  await refused(archive(entry(`${sampleKey(1)}.png`, PNG)), sampleKey(1), /lacks its \.json/);
  await refused(archive(entry(`${sampleKey(1)}.json`, enc('{"label": 1,')), entry(`${sampleKey(1)}.png`, PNG)), sampleKey(1), /metadata is not valid JSON/);
  await refused(archive(entry(`${sampleKey(1)}.json`, enc('{"label": -1}')), entry(`${sampleKey(1)}.png`, PNG)), sampleKey(1), /metadata\.label/);
});

test('gzip, garbage, empty and checksum-broken bytes are refused as a whole', async () => {
  const good = archive(...sampleEntries(1));
  await refused(new Uint8Array(gzipSync(good)), undefined, /gzip-compressed/);
  await refused(new Uint8Array(0), undefined, /empty file/);
  await refused(new Uint8Array(4096).map((_, i) => (i * 131 + 7) % 251), undefined, /not a tar archive/);
  await refused(enc('PK\u0003\u0004 a zip file, not a tar'.padEnd(2048, '!')), undefined, /not a tar archive/);
  const broken = good.slice();
  broken[0] = 0x31; // the name's first byte changed ("0" to "1"), the checksum not updated
  await refused(broken, undefined, /not a tar archive \(Invalid tar header/);
  // Garbage after an entry names the entry it follows.
  const trailing = concat([...sampleEntries(1).flat(), new Uint8Array(512).fill(0x41), new Uint8Array(1024)]);
  await refused(trailing, '000000001.png', /truncated or corrupt tar after entry "000000001.png"/);
});
