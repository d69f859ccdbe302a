// Generator responses that cannot be trusted: the HTTP backends (A1111 and OpenAI images) against
// the hostile server of test/support/hostile-generator.ts, on loopback.
// - Through createHttpItemGenerator: each bad response is a GeneratorHttpError whose code is its
//   reason, with the right transient flag, after exactly one request (the backend never retries by
//   itself); a 2 GiB body is cut at the cap without buffering it; deadlines cut stalls and drips.
// - Through the generateShard activity (MockActivityEnvironment): every bad item is recorded in
//   failedItems under its reason; 429/503 are retried after their Retry-After, other 4xx and
//   malformed responses are not; the shard holds every other item.
// Run: node --import tsx --test test/http-hostile.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import sharp from 'sharp';
import { createGenerateActivities, type GenerateShardOutput } from '../../../activities/generate/activity.js';
import type { GenerateItem } from '../../../activities/generate/item-generator.js';
import { createHttpItemGenerator, HTTP_FAILURE_REASONS, parseRetryAfter, type HttpFailureReason } from '../../../activities/generate/http-backends.js';
import { httpError } from '../../support/hostile-generator.js';
import { A1111GeneratorSchema, OpenAiImagesGeneratorSchema, type HttpGeneratorSpec } from '../../../contracts/spec/generators.js';
import { synthesizePromptList } from '../../../activities/prompts/strategies.js';
import { unpackShard } from '../../../core/shards/webdataset.js';
import { FAULTS_ENV } from '../../../core/faults.js';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';
import { decodeGrayPng } from '../../../core/png.js';
import { openStore } from '../../../core/storage.js';
import { HOSTILE_KINDS, startHostileGenerator, type HostileGenerator, type HostileKind } from '../../support/hostile-generator.js';

const TOKEN = 'hostile-test-token-8c2e41';
const ENV = { SYNTH_TEST_TOKEN: TOKEN };
const CLASSES = [...FASHION_MNIST_CLASSES];
const MiB = 1024 * 1024;
const LIMITS = { timeoutMs: 1500, idleTimeoutMs: 300, maxResponseBytes: MiB, maxRetryAfterMs: 5000 };
type Api = 'a1111' | 'openai';

const specFor = (server: HostileGenerator, api: Api, over: Record<string, unknown> = {}): HttpGeneratorSpec =>
  api === 'a1111'
    ? A1111GeneratorSchema.parse({ name: 'a1111', baseUrl: server.url, width: 64, height: 64, apiKeyEnv: 'SYNTH_TEST_TOKEN', ...LIMITS, ...over })
    : OpenAiImagesGeneratorSchema.parse({ name: 'openai-images', baseUrl: `${server.url}/v1`, model: 'm', size: '64x64', apiKeyEnv: 'SYNTH_TEST_TOKEN', ...LIMITS, ...over });

const itemAt = (index: number): GenerateItem => ({
  index,
  prompt: { index, classIndex: 8, text: 'a photo of a bag' },
  seed: `0|${index}`,
  cfgScale: 3,
  steps: 20,
});

describe('each bad response through the backend', () => {
  // A suite: long only by the number of its (independent) tests.
  // Prompt index i gets kind HOSTILE_KINDS[i % K]; each call takes a fresh index of its kind, so
  // the '-once' kinds misbehave on every call here.
  const K = HOSTILE_KINDS.length;
  let server: HostileGenerator;
  let round = 0;
  const fresh = (kind: HostileKind) => K * ++round + HOSTILE_KINDS.indexOf(kind);

  before(async () => {
    server = await startHostileGenerator({ plan: (i) => HOSTILE_KINDS[i % K]!, indexLimit: 100_000, dripIntervalMs: 50 });
  });
  after(() => server.close());

  /** One call of `kind` through `api`: its outcome and the requests the server saw for it. */
  function call(kind: HostileKind, api: Api, over: Record<string, unknown> = {}, signal?: AbortSignal) {
    const index = fresh(kind);
    const started = Date.now();
    const outcome = createHttpItemGenerator(specFor(server, api, over), { env: ENV })(itemAt(index), signal);
    return { outcome, index, started, requests: () => server.requestsFor(index) };
  }

  test('good PNG and JPEG responses are accepted through both APIs', async () => {
    for (const api of ['a1111', 'openai'] as const) {
      for (const kind of ['ok', 'jpeg'] as const) {
        const c = call(kind, api);
        const gray = decodeGrayPng(await c.outcome, 28, 28, `${api} ${kind}`);
        assert.ok(gray.some((v) => v > 100), 'the band survives decoding and resizing');
        assert.equal(c.requests().length, 1);
      }
    }
  });

  // kind -> reason code, transient?, message (per API where they differ)
  const cases: [HostileKind, HttpFailureReason | Record<Api, HttpFailureReason>, boolean, RegExp][] = [
    ['huge-body', 'response-too-large', false, /response body of more than 1048576 bytes exceeds the 1048576-byte cap \(maxResponseBytes\)/],
    ['huge-declared', 'response-too-large', false, /of 2147483648 bytes \(Content-Length\)/],
    ['pixel-bomb', 'pixel-bomb', false, /png header claims 100000x100000 = 10000000000 pixels, over the cap of 16777216/],
    ['html-body', 'not-json', false, /response is not JSON \(text\/html/],
    ['not-an-image', 'not-an-image', false, /not a decodable image/],
    ['svg', 'not-an-image', false, /unexpected image format svg/],
    ['bad-base64', 'bad-base64', false, /not valid base64/],
    ['no-images', 'wrong-image-count', false, /response has 0 images, expected 1/],
    ['two-images', 'wrong-image-count', false, /response has 2 images, expected 1/],
    ['wrong-size', 'unexpected-size', false, /(info says|png image is) 32x32, expected 64x64/],
    ['url-only', { a1111: 'bad-base64', openai: 'bad-response' }, false, /not valid base64|returned a URL, not b64_json/],
    ['rate-limited', 'rate-limited', true, /HTTP 429, retry after 1000 ms: Too many requests/],
    ['unavailable', 'unavailable', true, /HTTP 503, retry after 1000 ms: model is loading/],
    ['bad-request', 'http-4xx', false, /HTTP 400: prompt rejected by the safety filter; you sent Bearer \[redacted\]/],
    ['unauthorized', 'http-4xx', false, /HTTP 401 \(check the bearer token in \$SYNTH_TEST_TOKEN\): Not authenticated/],
    ['redirect', 'redirect', false, /request failed \(unexpected redirect\)/],
    ['stall-headers', 'deadline', true, /no complete response within 1500 ms \(timeoutMs\)/],
    ['stall-body', 'deadline', true, /response stalled: nothing received for 300 ms \(idleTimeoutMs\)/],
    ['drip', 'deadline', true, /no complete response within 1500 ms \(timeoutMs\)/],
  ];

  for (const api of ['a1111', 'openai'] as const) {
    test(`${api}: each bad response is rejected with its reason code, after one request`, async () => {
      // All at once: the slow ones (deadlines) overlap.
      const calls = cases.map(([kind]) => call(kind, api));
      const settled = await Promise.all(calls.map(async (c) => ({ c, err: await httpError(c.outcome), ms: Date.now() - c.started })));
      cases.forEach(([kind, code, transient, message], i) => {
        const { c, err, ms } = settled[i]!;
        const want = typeof code === 'string' ? code : code[api];
        assert.equal(err.code, want, `${kind}: ${err.message}`);
        assert.ok(HTTP_FAILURE_REASONS.includes(err.code));
        assert.ok(err.message.startsWith(`${want}: 127.0.0.1:`), `${kind}: the message starts with its code and endpoint: ${err.message}`);
        assert.equal(err.transient, transient, kind);
        assert.match(err.message, message, kind);
        assert.ok(!err.message.includes(TOKEN), `${kind}: no token in the message`);
        assert.equal(c.requests().length, 1, `${kind}: one request (the backend does not retry)`);
        assert.ok(ms < 5000, `${kind}: settled in ${ms} ms`);
      });
      const byKind = (kind: HostileKind) => settled[cases.findIndex(([k]) => k === kind)]!;
      assert.deepEqual([byKind('rate-limited').err.status, byKind('rate-limited').err.retryAfterMs], [429, 1000]);
      assert.deepEqual([byKind('bad-request').err.status, byKind('bad-request').err.retryAfterMs], [400, undefined]);
      assert.equal(byKind('unauthorized').err.status, 401);
      // The idle deadline cuts a stalled body well before the total one.
      assert.ok(byKind('stall-body').ms < 1300, `stall-body cut after ${byKind('stall-body').ms} ms`);
      assert.ok(byKind('drip').ms >= 1400, 'a drip is never idle: the total deadline cuts it');
    });
  }

  test('Retry-After: seconds or HTTP-date, capped at maxRetryAfterMs', async () => {
    const date = await httpError(call('unavailable-once', 'a1111').outcome);
    assert.equal(date.code, 'unavailable');
    assert.ok(date.retryAfterMs! > 0 && date.retryAfterMs! <= 2000, `HTTP-date Retry-After: ${date.retryAfterMs} ms`);
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(new Date(Date.now() + 60_000).toUTCString(), Date.now(), 5000), 5000);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter('99999999'), 600_000, 'never more than 10 minutes');
    const slow = await startHostileGenerator({ plan: () => 'rate-limited', retryAfterSeconds: 86_400 });
    try {
      const err = await httpError(createHttpItemGenerator(specFor(slow, 'openai', { maxRetryAfterMs: 2500 }), { env: ENV })(itemAt(0)));
      assert.deepEqual([err.code, err.retryAfterMs], ['rate-limited', 2500]);
    } finally {
      await slow.close();
    }
  });

  test('size checks: A1111 may round down to a multiple of 8; checkSize: false accepts any size', async () => {
    const odd = await httpError(call('wrong-size', 'a1111', { width: 100, height: 60 }).outcome);
    assert.match(odd.message, /info says 50x30, expected 100x60 or 96x56/);
    const png = await call('wrong-size', 'openai', { checkSize: false }).outcome;
    assert.equal(decodeGrayPng(png, 28, 28, 'unchecked').length, 784);
    // A size the response states must be the one asked for too (a good 64x64 image, said to be 32x32).
    const image = (await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).png().toBuffer()).toString('base64');
    const stub = (async () => Response.json({ created: 0, size: '32x32', data: [{ b64_json: image }] })) as typeof fetch;
    const stated = await httpError(createHttpItemGenerator(specFor(server, 'openai'), { env: ENV, fetchImpl: stub })(itemAt(0)));
    assert.equal(stated.code, 'unexpected-size');
    assert.match(stated.message, /"size" says 32x32, expected 64x64/);
  });

  test('the caller\'s abort wins over a stall, with its own reason', async () => {
    const cancel = new AbortController();
    const reason = new Error('cancelled by the test');
    setTimeout(() => cancel.abort(reason), 50);
    await assert.rejects(call('stall-headers', 'a1111', {}, cancel.signal).outcome, (err) => err === reason);
  });
});

describe('a 2 GiB body', () => {
  test('is cut at the cap, quickly, without buffering more than the cap', async () => {
    const server = await startHostileGenerator({ plan: () => 'huge-body', hugeBody: { bytes: 2 * 1024 ** 3, chunkBytes: 256 * 1024, intervalMs: 0 } });
    try {
      const cap = 8 * MiB;
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      const started = Date.now();
      const err = await httpError(createHttpItemGenerator(specFor(server, 'a1111', { maxResponseBytes: cap, timeoutMs: 30_000 }), { env: ENV })(itemAt(0)));
      const ms = Date.now() - started;
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      assert.equal(err.code, 'response-too-large');
      // The server stops once the client hangs up: what it got out is the cap plus socket buffers.
      await new Promise((r) => setTimeout(r, 100));
      const sent = server.requests[0]!.bytesSent!;
      console.log(`2 GiB body: cut after ${ms} ms; server wrote ${(sent / MiB).toFixed(1)} MiB; rss +${((peak - before) / MiB).toFixed(1)} MiB`);
      assert.ok(ms < 10_000, `cut after ${ms} ms`);
      assert.ok(sent < cap + 32 * MiB, `the server wrote ${sent} bytes before the client hung up`);
      assert.ok(peak - before < 160 * MiB, `rss grew by ${peak - before} bytes`);
      assert.equal(server.requests.length, 1);
    } finally {
      await server.close();
    }
  });
});

describe('a shard against the hostile server (generateShard activity)', () => {
  // A suite: long only by the number of its (independent) tests.
  const silent: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const COUNT = 24;
  // One bad kind per index; the rest are good.
  const PLAN: Partial<Record<number, HostileKind>> = {
    1: 'rate-limited-once',
    3: 'unavailable-once',
    4: 'rate-limited',
    6: 'bad-request',
    7: 'unauthorized',
    9: 'pixel-bomb',
    10: 'html-body',
    12: 'bad-base64',
    13: 'two-images',
    15: 'wrong-size',
    16: 'huge-body',
    18: 'not-an-image',
    19: 'stall-body',
    21: 'stall-headers',
  };
  const EXPECTED: Record<number, { reason: HttpFailureReason; requests: number }> = {
    4: { reason: 'rate-limited', requests: 3 },
    6: { reason: 'http-4xx', requests: 1 },
    7: { reason: 'http-4xx', requests: 1 },
    9: { reason: 'pixel-bomb', requests: 1 },
    10: { reason: 'not-json', requests: 1 },
    12: { reason: 'bad-base64', requests: 1 },
    13: { reason: 'wrong-image-count', requests: 1 },
    15: { reason: 'unexpected-size', requests: 1 },
    16: { reason: 'response-too-large', requests: 1 },
    18: { reason: 'not-an-image', requests: 1 },
    19: { reason: 'deadline', requests: 3 },
    21: { reason: 'deadline', requests: 3 },
  };
  let dir: string;
  let server: HostileGenerator;
  const savedFaults = process.env[FAULTS_ENV];

  before(async () => {
    delete process.env[FAULTS_ENV];
    dir = await mkdtemp(join(tmpdir(), 'synthscale-hostile-'));
    server = await startHostileGenerator({ plan: PLAN, generationSeed: 5, hugeBody: { chunkBytes: 64 * 1024, intervalMs: 2 } });
  });
  after(async () => {
    if (savedFaults !== undefined) process.env[FAULTS_ENV] = savedFaults;
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('every bad item is a failed item with its reason; only 429/503 (and deadlines) are retried, after Retry-After', { timeout: 120_000 }, async () => {
    const store = openStore(join(dir, 'store'));
    const prompts = synthesizePromptList('classnames', CLASSES, COUNT, 5);
    const promptsPut = await store.put('prompts/hostile.json', new TextEncoder().encode(JSON.stringify({ prompts })));
    const activities = createGenerateActivities({ store, dataDir: join(process.cwd(), '.synthscale/data') });
    const generator = A1111GeneratorSchema.parse({ name: 'a1111', baseUrl: server.url, steps: 10, width: 64, height: 64, timeoutMs: 2000, idleTimeoutMs: 300, maxResponseBytes: MiB });
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 }, { logger: silent });
    const out: GenerateShardOutput = await env.run(activities.generateShard, {
      source: 'hostile',
      shardKey: 'sources/hostile/shard-000000.tar',
      modelUri: '',
      promptsUri: promptsPut.uri,
      firstIndex: 0,
      count: COUNT,
      cfgScale: 3,
      steps: 10,
      generationSeed: 5,
      generatorLabel: 'a1111@hostile',
      generator,
      classes: CLASSES,
      chunkSize: 8,
    });

    const failed = new Map(out.failedItems.map((f) => [f.index, f.reason]));
    assert.deepEqual([...failed.keys()], Object.keys(EXPECTED).map(Number), JSON.stringify(out.failedItems, null, 1));
    for (const [index, want] of Object.entries(EXPECTED)) {
      const reason = failed.get(Number(index))!;
      assert.equal(/^([a-z0-9-]+): /.exec(reason)?.[1], want.reason, `item ${index}: ${reason}`);
      assert.ok(reason.length <= 200);
      assert.equal(server.requestsFor(Number(index)).length, want.requests, `item ${index} (${PLAN[Number(index)]}): requests`);
    }
    assert.equal(out.samples, COUNT - failed.size);
    const samples = await unpackShard(await store.get('sources/hostile/shard-000000.tar'), 'hostile');
    assert.deepEqual(
      samples.map((s) => s.meta.index),
      Array.from({ length: COUNT }, (_, i) => i).filter((i) => !failed.has(i)),
    );
    // Retried once each and then good: the 429 and the 503, each after its Retry-After.
    for (const index of [1, 3]) {
      const [first, second, ...more] = server.requestsFor(index);
      assert.equal(more.length, 0);
      assert.ok(second!.at - first!.at >= 1000, `item ${index}: retried after ${second!.at - first!.at} ms, Retry-After asked for >= 1000`);
      assert.ok(!failed.has(index) && samples.some((s) => s.meta.index === index));
    }
    const always = server.requestsFor(4);
    for (let i = 1; i < always.length; i++) assert.ok(always[i]!.at - always[i - 1]!.at >= 1000, 'every retry of a 429 waits out its Retry-After');
    // Good items: one request each.
    for (let i = 0; i < COUNT; i++) if (PLAN[i] === undefined) assert.equal(server.requestsFor(i).length, 1, `item ${i}`);
    assert.equal(out.itemRetries, 1 + 1 + 2 + 2 + 2, '429-once, 503-once, 429 x2, two deadlines x2');
  });
});
