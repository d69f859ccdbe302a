// The generateShard activity under crashes, cancellation, corruption and injected faults: it resumes
// mid-shard from committed parts, its final bytes equal an uninterrupted run's, failed items are
// bookkept, and a committed shard is returned without work. Work is counted via the work ledger.
// Each attempt runs in @temporalio/testing's MockActivityEnvironment (attempt and heartbeatDetails set per retry).
// Run: node --import tsx --test test/generate-activity.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancelledFailure, type Info } from '@temporalio/activity';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { FASHION_MNIST_CLASSES, IMAGE_PIXELS, loadSplit, locateFashionMnist } from '../../../core/datasets/fashion-mnist.js';
import { FAULTS_ENV } from '../../../core/faults.js';
import { STORAGE_TIMEOUT_ENV } from '../../../core/resilience.js';
import { openStore, type BlobStore, type PutResult } from '../../../core/storage.js';
import { readLedger, totalWork, WORK_LEDGER_ENV } from '../../../core/work-ledger.js';
import {
  createGenerateActivities,
  GENERATE_ITEM_TIMEOUT_ENV,
  parseGenerateHeartbeat,
  type GenerateHeartbeat,
  type GenerateShardInput,
  type GenerateShardOutput,
} from '../../../activities/generate/activity.js';
import { fitGmmGenerator, serializeGmmModel } from '../../../activities/generate/gmm-diffusion.js';
import { synthesizePromptList } from '../../../activities/prompts/strategies.js';
import { sampleKey, unpackShard } from '../../../core/shards/webdataset.js';

// Activity environment: MockActivityEnvironment runs the activity with a mocked Context (info,
// heartbeats as 'heartbeat' events, cancel()). Its logger is silenced: corruption tests log warnings.

const silentLogger: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

function createActivityEnv(info: Partial<Info> = {}): MockActivityEnvironment {
  return new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000, ...info }, { logger: silentLogger });
}

// ---------------------------------------------------------------------------------------------
// Fixture: a small fitted generator and a prompt list in a temporary store.

let dir: string;
let store: BlobStore;
let ledgerDir: string;
let base: Omit<GenerateShardInput, 'shardKey'>;
let activities: ReturnType<typeof createGenerateActivities>;
let reference: { bytes: Uint8Array; out: GenerateShardOutput };
const savedEnv: Record<string, string | undefined> = {};
const ENV_KEYS = [WORK_LEDGER_ENV, FAULTS_ENV, STORAGE_TIMEOUT_ENV, GENERATE_ITEM_TIMEOUT_ENV];

const COUNT = 45;
const CHUNK = 10;
const FIRST = 100;

before(async () => {
  for (const key of ENV_KEYS) savedEnv[key] = process.env[key];
  for (const key of ENV_KEYS) delete process.env[key];
  dir = await mkdtemp(join(tmpdir(), 'synthscale-generate-'));
  ledgerDir = join(dir, 'ledger');
  process.env[WORK_LEDGER_ENV] = ledgerDir;
  store = openStore(join(dir, 'store'));
  const train = await loadSplit(await locateFashionMnist(join(process.cwd(), '.synthscale/data')), 'train');
  const n = 3000;
  const model = fitGmmGenerator(
    { images: train.images.subarray(0, n * IMAGE_PIXELS), labels: train.labels.subarray(0, n), count: n },
    { pcaDims: 8, componentsPerClass: 2, fitSeed: 1 },
    FASHION_MNIST_CLASSES,
  );
  const modelPut = await store.put('generators/test/model.bin', serializeGmmModel(model));
  const prompts = synthesizePromptList('classnames', FASHION_MNIST_CLASSES, FIRST + COUNT, 3);
  const promptsPut = await store.put('prompts/test.json', new TextEncoder().encode(JSON.stringify({ prompts })));
  base = {
    source: 'src-test',
    modelUri: modelPut.uri,
    promptsUri: promptsPut.uri,
    firstIndex: FIRST,
    count: COUNT,
    cfgScale: 2,
    steps: 10,
    generationSeed: 7,
    generatorLabel: 'embedded-gmm@test',
    chunkSize: CHUNK,
  };
  activities = createGenerateActivities({ store, dataDir: join(process.cwd(), '.synthscale/data') });
});

after(async () => {
  for (const key of ENV_KEYS) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
  await rm(dir, { recursive: true, force: true });
});

const input = (shard: string, extra: Partial<GenerateShardInput> = {}): GenerateShardInput => ({ ...base, shardKey: `sources/test/${shard}.tar`, ...extra });
const imagesDone = (key: string, attempt?: number) => totalWork(readLedger(ledgerDir), { kind: 'images', key, ...(attempt ? { attempt } : {}) });
const partsOf = async (key: string) => (await store.list('sources/test')).filter((k) => k.startsWith(`${key}.part-`));
const fileOf = (key: string) => join(dir, 'store', ...key.split('/'));

async function flipByte(key: string): Promise<void> {
  const path = fileOf(key);
  const data = await readFile(path);
  data[Math.floor(data.length / 2)]! ^= 0xff;
  await writeFile(path, data);
}

/** Run one attempt; heartbeats are collected, and `cancelWhen` may cancel it on a heartbeat. */
async function runAttempt(
  shardInput: GenerateShardInput,
  info: Partial<Info> = {},
  cancelWhen?: (hb: GenerateHeartbeat, heartbeatCount: number) => boolean,
  acts = activities,
): Promise<{ out?: GenerateShardOutput; error?: unknown; heartbeats: GenerateHeartbeat[] }> {
  const env = createActivityEnv(info);
  const heartbeats: GenerateHeartbeat[] = [];
  let cancelled = false;
  env.on('heartbeat', (details: unknown) => {
    heartbeats.push(details as GenerateHeartbeat);
    if (!cancelled && cancelWhen?.(details as GenerateHeartbeat, heartbeats.length)) {
      cancelled = true;
      env.cancel('CANCELLED');
    }
  });
  try {
    return { out: await env.run(acts.generateShard, shardInput), heartbeats };
  } catch (error) {
    return { error, heartbeats };
  }
}

async function withFaults<T>(faults: object, env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  process.env[FAULTS_ENV] = JSON.stringify(faults);
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    delete process.env[FAULTS_ENV];
    for (const key of Object.keys(env)) delete process.env[key];
  }
}

// ---------------------------------------------------------------------------------------------

describe('generateShard', () => {
  test('an uninterrupted run samples every item once, commits the shard and removes its parts', async () => {
    const key = input('reference').shardKey;
    const { out, error } = await runAttempt(input('reference'));
    assert.ifError(error);
    assert.ok(out);
    assert.equal(out.cached, false);
    assert.equal(out.attempt, 1);
    assert.equal(out.samples, COUNT);
    assert.equal(out.imagesSampled, COUNT);
    assert.equal(out.resumedFrom, 0);
    assert.equal(out.itemRetries, 0);
    assert.equal(out.corruptRegenerated, false);
    assert.deepEqual(out.failedItems, []);
    assert.equal(out.firstIndex, FIRST);
    assert.equal(imagesDone(key), COUNT);
    assert.deepEqual(await partsOf(key), []);
    const bytes = await store.get(key);
    assert.equal(out.sha256, (await store.head(key))!.sha256);
    const samples = await unpackShard(bytes, key);
    assert.deepEqual(samples.map((s) => s.key), Array.from({ length: COUNT }, (_, i) => sampleKey(FIRST + i)));
    assert.equal(samples[0]!.meta.prompt, synthesizePromptList('classnames', FASHION_MNIST_CLASSES, FIRST + 1, 3)[FIRST]!.text);
    reference = { bytes, out };
  });

  test('a committed shard is returned cached, without work', async () => {
    const key = input('reference').shardKey;
    const before = readLedger(ledgerDir).length;
    const { out, error } = await runAttempt(input('reference'), { attempt: 3 });
    assert.ifError(error);
    assert.equal(out!.cached, true);
    assert.equal(out!.imagesSampled, 0);
    assert.equal(out!.sha256, reference.out.sha256);
    assert.equal(out!.samples, COUNT);
    assert.equal(readLedger(ledgerDir).length, before, 'no work recorded');
    assert.deepEqual(await store.get(key), reference.bytes);
  });

  test('cancelled after 2 chunks, the retry resumes from the heartbeat and parts: same bytes, only the rest sampled', async () => {
    const shard = input('cancelled');
    const first = await runAttempt(shard, { attempt: 1 }, (hb) => hb.imagesDone >= 2 * CHUNK);
    assert.ok(first.error instanceof CancelledFailure, `cancelled, got ${String(first.error)}`);
    assert.equal(await store.head(shard.shardKey), null, 'no shard yet');
    assert.deepEqual(await partsOf(shard.shardKey), [
      `${shard.shardKey}.part-000000`,
      `${shard.shardKey}.part-000000.json`,
      `${shard.shardKey}.part-000010`,
      `${shard.shardKey}.part-000010.json`,
    ]);
    assert.equal(imagesDone(shard.shardKey, 1), 2 * CHUNK);
    const last = first.heartbeats.at(-1)!;
    assert.deepEqual(last, { imagesDone: 2 * CHUNK, of: COUNT, shard: shard.shardKey });

    const second = await runAttempt(shard, { attempt: 2, heartbeatDetails: last });
    assert.ifError(second.error);
    assert.equal(second.out!.resumedFrom, 2 * CHUNK);
    assert.equal(second.out!.imagesSampled, COUNT - 2 * CHUNK);
    assert.equal(second.out!.attempt, 2);
    assert.equal(imagesDone(shard.shardKey, 2), COUNT - 2 * CHUNK, 'the ledger agrees: only the remaining items');
    assert.equal(imagesDone(shard.shardKey), COUNT, 'no item sampled twice');
    assert.deepEqual(await store.get(shard.shardKey), reference.bytes, 'final bytes equal the uninterrupted run');
    assert.equal(second.out!.sha256, reference.out.sha256);
    assert.deepEqual(await partsOf(shard.shardKey), []);
    assert.deepEqual(second.heartbeats[0], { imagesDone: 2 * CHUNK, of: COUNT, shard: shard.shardKey });
  });

  test('cancelled mid-chunk (worker shutdown), the sampled items are committed as a partial part and not redone', async () => {
    const shard = input('mid-chunk');
    // Heartbeats: one at the start, one per item, one per committed part; the 15th falls inside the second chunk.
    const first = await runAttempt(shard, { attempt: 1 }, (_hb, n) => n === 15);
    assert.ok(first.error instanceof CancelledFailure);
    const parts = await partsOf(shard.shardKey);
    assert.equal(parts.length, 4, parts.join());
    const partial = parts.find((k) => k.endsWith('.part-000010.json'))!;
    const end = (JSON.parse(new TextDecoder().decode(await store.get(partial))) as { end: number }).end;
    assert.ok(end > CHUNK && end < 2 * CHUNK, `partial part ends at ${end}`);
    assert.equal(imagesDone(shard.shardKey, 1), end);
    const second = await runAttempt(shard, { attempt: 2, heartbeatDetails: first.heartbeats.at(-1) });
    assert.ifError(second.error);
    assert.equal(second.out!.resumedFrom, end);
    assert.equal(imagesDone(shard.shardKey), COUNT, 'no item sampled twice');
    assert.deepEqual(await store.get(shard.shardKey), reference.bytes);
  });

  test('cancelled again and again at arbitrary points: every item sampled exactly once, same bytes', async () => {
    const shard = input('many-cancels');
    let attempt = 1;
    let details: unknown;
    let out: GenerateShardOutput | undefined;
    const cancelAt = [3, 9, 2, 14, 5, 30, 7];
    for (; !out; attempt++) {
      const n = cancelAt[attempt - 1];
      const run = await runAttempt(shard, { attempt, heartbeatDetails: details }, n === undefined ? undefined : (_hb, count) => count === n);
      if (run.out) out = run.out;
      else assert.ok(run.error instanceof CancelledFailure, String(run.error));
      details = run.heartbeats.at(-1);
      assert.ok(attempt < 20);
    }
    assert.ok(attempt > 3, 'several attempts were needed');
    assert.equal(imagesDone(shard.shardKey), COUNT);
    assert.deepEqual(await store.get(shard.shardKey), reference.bytes);
    assert.deepEqual(await partsOf(shard.shardKey), []);
  });

  test('a crash (thrown storage error) mid-shard resumes from the listed parts even without heartbeat details', async () => {
    const shard = input('crashed');
    let crashed = false;
    const crashing: BlobStore = {
      ...store,
      root: store.root,
      uri: (k) => store.uri(k),
      keyOf: (u) => store.keyOf(u),
      get: (k, o) => store.get(k, o),
      head: (k) => store.head(k),
      list: (p) => store.list(p),
      delete: (k) => store.delete(k),
      put: async (k, d): Promise<PutResult> => {
        if (!crashed && k.endsWith('.part-000030')) {
          crashed = true;
          throw new Error('disk on fire');
        }
        return store.put(k, d);
      },
    };
    const acts = createGenerateActivities({ store: crashing, dataDir: join(process.cwd(), '.synthscale/data') });
    const first = await runAttempt(shard, { attempt: 1 }, undefined, acts);
    assert.match(String(first.error), /disk on fire/);
    assert.equal(imagesDone(shard.shardKey, 1), 4 * CHUNK, 'the fourth chunk was sampled but not committed');

    const second = await runAttempt(shard, { attempt: 2, heartbeatDetails: undefined }, undefined, acts);
    assert.ifError(second.error);
    assert.equal(second.out!.resumedFrom, 3 * CHUNK);
    assert.equal(imagesDone(shard.shardKey, 2), COUNT - 3 * CHUNK);
    assert.deepEqual(await store.get(shard.shardKey), reference.bytes);
  });

  test('heartbeat details are untrusted: verified parts win over a heartbeat that claims more', async () => {
    assert.equal(parseGenerateHeartbeat('junk', { shardKey: 'a', count: 5 }), null);
    assert.equal(parseGenerateHeartbeat({ imagesDone: 9, of: 5, shard: 'a' }, { shardKey: 'a', count: 5 }), null);
    assert.equal(parseGenerateHeartbeat({ imagesDone: 3, of: 5, shard: 'b' }, { shardKey: 'a', count: 5 }), null);
    assert.deepEqual(parseGenerateHeartbeat({ imagesDone: 3, of: 5, shard: 'a', x: 1 }, { shardKey: 'a', count: 5 }), { imagesDone: 3, of: 5, shard: 'a' });

    const shard = input('overclaim');
    const first = await runAttempt(shard, { attempt: 1 }, (hb) => hb.imagesDone >= 2 * CHUNK);
    assert.ok(first.error instanceof CancelledFailure);
    const second = await runAttempt(shard, { attempt: 2, heartbeatDetails: { imagesDone: 40, of: COUNT, shard: shard.shardKey } });
    assert.ifError(second.error);
    assert.equal(second.out!.resumedFrom, 2 * CHUNK);
    assert.deepEqual(await store.get(shard.shardKey), reference.bytes);
  });

  test('a corrupted part is detected and regenerated from there', async () => {
    const shard = input('corrupt-part');
    const first = await runAttempt(shard, { attempt: 1 }, (hb) => hb.imagesDone >= 2 * CHUNK);
    assert.ok(first.error instanceof CancelledFailure);
    await flipByte(`${shard.shardKey}.part-000010`);
    const second = await runAttempt(shard, { attempt: 2, heartbeatDetails: first.heartbeats.at(-1) });
    assert.ifError(second.error);
    assert.equal(second.out!.corruptRegenerated, true);
    assert.equal(second.out!.resumedFrom, CHUNK, 'the valid first part is kept');
    assert.equal(imagesDone(shard.shardKey, 2), COUNT - CHUNK);
    assert.deepEqual(await store.get(shard.shardKey), reference.bytes);
    assert.deepEqual(await partsOf(shard.shardKey), []);
  });

  test('a corrupted committed shard is regenerated, not returned cached', async () => {
    const shard = input('corrupt-shard');
    assert.ifError((await runAttempt(shard)).error);
    await flipByte(shard.shardKey);
    const again = await runAttempt(shard, { attempt: 1 });
    assert.ifError(again.error);
    assert.equal(again.out!.cached, false);
    assert.equal(again.out!.corruptRegenerated, true);
    assert.equal(again.out!.imagesSampled, COUNT);
    assert.deepEqual(await store.get(shard.shardKey), reference.bytes);
  });

  test('items that always fail land in failedItems with their reason; the shard holds the rest', async () => {
    const shard = input('always-fail');
    const failing = FIRST + 7;
    const { out, error } = await withFaults({ alwaysFailPromptIndices: [failing] }, {}, () => runAttempt(shard));
    assert.ifError(error);
    assert.equal(out!.samples, COUNT - 1);
    assert.equal(out!.failedItems.length, 1);
    assert.equal(out!.failedItems[0]!.index, failing);
    assert.match(out!.failedItems[0]!.reason, /injected permanent failure for prompt 107/);
    assert.ok(out!.failedItems[0]!.reason.length <= 200);
    assert.equal(out!.itemRetries, 0, 'a permanent (transient: false) failure is not retried');
    const samples = await unpackShard(await store.get(shard.shardKey), shard.shardKey);
    assert.equal(samples.length, COUNT - 1);
    assert.ok(!samples.some((s) => s.key === sampleKey(failing)));
    const stats = JSON.parse(new TextDecoder().decode(await store.get(`${shard.shardKey}.stats.json`))) as { samples: number; failedItems: unknown[] };
    assert.equal(stats.samples, COUNT - 1);
    assert.deepEqual(stats.failedItems, out!.failedItems);

    // The cached path reports the same failed items, and a resumed run keeps them too.
    const cached = await runAttempt(shard);
    assert.equal(cached.out!.cached, true);
    assert.deepEqual(cached.out!.failedItems, out!.failedItems);
  });

  test('transient generator and storage faults (failures, hangs past the timeouts) are retried: same bytes', async () => {
    const shard = input('faulty', { itemAttempts: 10 });
    const { out, error } = await withFaults(
      { generateFailRate: 0.2, generateHangRate: 0.1, storageWriteFailRate: 0.1, storageHangRate: 0.02, hangMs: 5000 },
      { [GENERATE_ITEM_TIMEOUT_ENV]: '150', [STORAGE_TIMEOUT_ENV]: '300' },
      () => runAttempt(shard),
    );
    assert.ifError(error);
    assert.ok(out!.itemRetries > 0, 'items were retried');
    assert.deepEqual(out!.failedItems, []);
    assert.equal(typeof out!.storageRetries, 'number');
    assert.deepEqual(await store.get(shard.shardKey), reference.bytes);
    assert.equal(imagesDone(shard.shardKey), COUNT);
  });

  test('invalid inputs fail without retries', async () => {
    const { error } = await runAttempt(input('invalid', { chunkSize: 0 }));
    assert.match(String(error), /chunkSize/);
    assert.equal((error as { nonRetryable?: boolean }).nonRetryable, true);
  });
});

test('a shard stored for a smaller count is not taken for a larger one at the same key', async () => {
  const key = 'shard-count-check';
  const small = await runAttempt(input(key, { count: 3 }));
  assert.equal(small.out?.samples, 3);
  const full = await runAttempt(input(key));
  assert.equal(full.out?.cached, false, 'the 3-sample shard is not a cache hit for the full count');
  assert.equal(full.out?.samples, COUNT);
  const again = await runAttempt(input(key));
  assert.equal(again.out?.cached, true);
});
