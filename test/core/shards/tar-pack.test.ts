// The tar writer: packTarDirect (headers written directly) gives tar-stream's bytes exactly, for
// every name and size a shard can hold; names it cannot write as a plain ustar header go through
// tar-stream. Shards written either way read back the same.
// Run: node --import tsx --test test/core/shards/tar-pack.test.ts
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../../core/rng.js';
import { packTar, packTarDirect, packTarStream } from '../../../core/shards/tar.js';
import { packShard, sampleKey, unpackShard } from '../../../core/shards/webdataset.js';

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789_-.';

test('packTarDirect writes the bytes tar-stream writes (random names up to 100 characters, sizes around block edges)', async () => {
  const rng = createRng('tar-direct');
  for (let t = 0; t < 200; t++) {
    const entries = Array.from({ length: Math.floor(rng.uniform() * 6) }, (_, i) => {
      const length = 1 + Math.floor(rng.uniform() * 99);
      const name = `${i}${Array.from({ length }, () => NAME_CHARS[Math.floor(rng.uniform() * NAME_CHARS.length)]).join('')}`.slice(0, 100);
      const size = [0, 1, 511, 512, 513, 1024, 4096, Math.floor(rng.uniform() * 20000)][Math.floor(rng.uniform() * 8)]!;
      return { name, data: Uint8Array.from({ length: size }, () => Math.floor(rng.uniform() * 256)) };
    });
    const direct = packTarDirect(entries);
    assert.ok(direct, 'plain names take the direct path');
    assert.deepEqual(direct, await packTarStream(entries), `case ${t}`);
  }
  assert.deepEqual(packTarDirect([]), await packTarStream([]));
});

test('names a plain ustar header cannot hold go through tar-stream', async () => {
  const long = { name: `${'a'.repeat(101)}.png`, data: new Uint8Array(3) };
  const unicode = { name: 'caf\u00e9.json', data: new Uint8Array(3) };
  assert.equal(packTarDirect([long]), null);
  assert.equal(packTarDirect([unicode]), null);
  assert.deepEqual(await packTar([long, unicode]), await packTarStream([long, unicode]));
});

test('a shard packed directly reads back with its samples', async () => {
  const samples = Array.from({ length: 30 }, (_, i) => ({
    key: sampleKey(i),
    png: Uint8Array.from({ length: 100 + i * 37 }, (_, j) => (i * 7 + j) % 256),
    meta: { label: i % 3, className: `c${i % 3}`, source: 's', index: i },
  }));
  const bytes = await packShard(samples);
  assert.deepEqual(bytes, await packTarStream(samples.flatMap((s) => [
    { name: `${s.key}.json`, data: new TextEncoder().encode(JSON.stringify(s.meta)) },
    { name: `${s.key}.png`, data: s.png },
  ])));
  const back = await unpackShard(bytes, 'direct');
  assert.deepEqual(back.map((s) => s.key), samples.map((s) => s.key));
  back.forEach((s, i) => {
    assert.deepEqual(s.png, samples[i]!.png);
    assert.deepEqual(s.meta, samples[i]!.meta);
  });
});
