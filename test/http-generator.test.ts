// The HTTP generator backends (A1111 txt2img and OpenAI images) against a real server: the
// embedded generator served by startGeneratorServer over node:http. Then the client against a
// hostile server: oversized, malformed, non-image and bomb responses, rate limits, stalls.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { GenerateItem, ItemGenerator } from '../activities/generate/activity.js';
import { startGeneratorServer, type GeneratorServer } from '../activities/generate/generator-server.js';
import { fitGmmGenerator, sampleImage, type GmmGeneratorModel } from '../activities/generate/gmm-diffusion.js';
import { createHttpItemGenerator, GeneratorHttpError, httpSeed, parseRetryAfter, type HttpImageMeta } from '../activities/generate/http-backends.js';
import { A1111GeneratorSchema, OpenAiImagesGeneratorSchema } from '../activities/generate/http-config.js';
import { promptToClassWeights } from '../activities/generate/text-condition.js';
import { synthesizePromptList } from '../activities/prompts/strategies.js';
import { packShard, sampleKey, unpackShard } from '../activities/shards/webdataset.js';
import { FASHION_MNIST_CLASSES, IMAGE_PIXELS, loadSplit, locateFashionMnist } from '../core/fashion-mnist.js';
import { decodeGrayPng, encodeGrayPng } from '../core/png.js';

const CLASSES = [...FASHION_MNIST_CLASSES];
const P = IMAGE_PIXELS;
const TOKEN = 'test-token-5b0c1f9e';
const ENV = { SYNTH_TEST_TOKEN: TOKEN };
const LIMITS = { maxN: 4, maxWidth: 1024, maxHeight: 1024, maxSteps: 100, maxBodyBytes: 16 * 1024 };

let model: GmmGeneratorModel;
let classMeans: Float64Array[];
let server: GeneratorServer;

const a1111 = (over: Record<string, unknown> = {}) =>
  A1111GeneratorSchema.parse({ name: 'a1111', baseUrl: server.url, apiKeyEnv: 'SYNTH_TEST_TOKEN', timeoutMs: 10_000, ...over });
const openai = (over: Record<string, unknown> = {}) =>
  OpenAiImagesGeneratorSchema.parse({
    name: 'openai-images',
    baseUrl: `${server.url}/v1`,
    model: 'synthscale-embedded-gmm',
    apiKeyEnv: 'SYNTH_TEST_TOKEN',
    timeoutMs: 10_000,
    ...over,
  });

const item = (text: string, seed: string, over: Partial<GenerateItem> = {}): GenerateItem => ({
  index: 0,
  prompt: { index: 0, classIndex: 0, text },
  seed,
  cfgScale: 3,
  steps: 20,
  ...over,
});

/** The rejection of `promise`, which must be a GeneratorHttpError. */
async function httpError(promise: Promise<unknown>): Promise<GeneratorHttpError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof GeneratorHttpError, `expected a GeneratorHttpError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

function nearestClassMean(pixels: Uint8Array): number {
  let best = -1;
  let bestDist = Infinity;
  classMeans.forEach((m, c) => {
    let s = 0;
    for (let p = 0; p < P; p++) s += (pixels[p]! - m[p]!) ** 2;
    if (s < bestDist) [best, bestDist] = [c, s];
  });
  return best;
}

before(async () => {
  const train = await loadSplit(await locateFashionMnist(join(process.cwd(), '.synthscale/data')), 'train');
  const n = 3000;
  model = fitGmmGenerator({ images: train.images.subarray(0, n * P), labels: train.labels.subarray(0, n), count: n }, { pcaDims: 16, componentsPerClass: 4, fitSeed: 1 }, CLASSES);
  classMeans = CLASSES.map(() => new Float64Array(P));
  const counts = new Float64Array(CLASSES.length);
  for (let i = 0; i < 10000; i++) {
    const c = train.labels[i]!;
    counts[c]! += 1;
    for (let p = 0; p < P; p++) classMeans[c]![p]! += train.images[i * P + p]!;
  }
  classMeans.forEach((m, c) => m.forEach((v, p) => (m[p] = v / counts[c]!)));
  server = await startGeneratorServer({ model, token: TOKEN, limits: LIMITS });
});

after(() => server?.close());

describe('http generator backends against the real generator server', () => {
  test('both clients return canonical 28x28 grayscale PNGs, with metadata', async () => {
    const metas: HttpImageMeta[] = [];
    for (const spec of [a1111(), openai()]) {
      const generate = createHttpItemGenerator(spec, { env: ENV, onImage: (_, m) => metas.push(m) });
      const png = await generate(item('a photo of a dress', 'g|1'));
      const pixels = decodeGrayPng(png, 28, 28, spec.name);
      assert.deepEqual(png, encodeGrayPng(pixels, 28, 28), 'stored bytes are our own PNG encoding');
    }
    const host = new URL(server.url).host;
    assert.equal(metas[0]!.endpoint, `${host}/sdapi/v1/txt2img`);
    assert.equal(metas[1]!.endpoint, `${host}/v1/images/generations`);
    for (const m of metas) {
      assert.equal(m.seed, httpSeed('g|1'));
      assert.deepEqual({ format: m.source.format, width: m.source.width, height: m.source.height }, { format: 'png', width: 512, height: 512 });
    }
    assert.equal(metas[0]!.reportedSeed, httpSeed('g|1'), 'A1111 info.seed');
    assert.equal(metas[1]!.revisedPrompt, 'a photo of a dress');
  });

  test('same seed gives identical bytes through both APIs; another seed does not', async () => {
    const viaA1111 = createHttpItemGenerator(a1111(), { env: ENV });
    const viaOpenAi = createHttpItemGenerator(openai(), { env: ENV });
    const it = item('a photo of a sneaker', 'sweep|7');
    const a = await viaA1111(it);
    assert.deepEqual(await viaOpenAi(it), a);
    assert.deepEqual(await viaA1111(it), a, 'repeatable');
    assert.notDeepEqual(await viaA1111({ ...it, seed: 'sweep|8' }), a);
    // The HTTP image is the embedded sample after the server's upscale and our downscale.
    const direct = sampleImage(model, { classWeights: promptToClassWeights(it.prompt.text, CLASSES), cfgScale: 3, steps: 20, seed: String(httpSeed(it.seed)) });
    const http = decodeGrayPng(a, 28, 28, 'http');
    const mad = direct.reduce((s, v, i) => s + Math.abs(v - http[i]!), 0) / P;
    assert.ok(mad < 4, `mean absolute difference to the embedded sample ${mad.toFixed(1)} grey levels`);
  });

  test('the class condition survives the round trip: a CLIP-template shard, packed with metadata', async () => {
    const prompts = synthesizePromptList('clip-templates', CLASSES, 30, 0);
    const metas = new Map<number, HttpImageMeta>();
    const generate = createHttpItemGenerator(a1111(), { env: ENV, onImage: (it, m) => metas.set(it.index, m) });
    const samples = [];
    let correct = 0;
    for (const prompt of prompts) {
      const seed = `0|${prompt.index}`;
      const png = await generate({ index: prompt.index, prompt, seed, cfgScale: 3, steps: 20 });
      if (nearestClassMean(decodeGrayPng(png, 28, 28, seed)) === prompt.classIndex) correct++;
      const meta = metas.get(prompt.index)!;
      samples.push({
        key: sampleKey(prompt.index),
        png,
        meta: { label: prompt.classIndex, className: CLASSES[prompt.classIndex]!, prompt: prompt.text, cfgScale: 3, seed, generator: `a1111@${meta.endpoint}`, source: 'syn', index: prompt.index },
      });
    }
    assert.ok(correct >= 24, `${correct}/30 images nearest to their prompt's class mean`);
    const back = await unpackShard(await packShard(samples), 'http-shard');
    assert.equal(back.length, 30);
    assert.deepEqual(back[7]!.png, samples[7]!.png);
    assert.equal(back[7]!.meta.prompt, prompts[7]!.text);

    const trouser = createHttpItemGenerator(openai(), { env: ENV });
    for (const [text, cls] of [['a pair of trousers', 1], ['a leather bag', 8]] as const) {
      for (let i = 0; i < 4; i++) assert.equal(nearestClassMean(decodeGrayPng(await trouser(item(text, `c|${i}`)), 28, 28, text)), cls, text);
    }
  });

  test('token: none configured, env var missing, wrong token are non-transient; the right one works', async () => {
    let err = await httpError(createHttpItemGenerator(a1111({ apiKeyEnv: undefined }), { env: ENV })(item('a bag', 's')));
    assert.equal(err.status, 401);
    assert.equal(err.transient, false);
    assert.match(err.message, /sdapi\/v1\/txt2img: HTTP 401 \(the server wants a token: set apiKeyEnv/);

    err = await httpError(createHttpItemGenerator(openai({ apiKeyEnv: 'SYNTH_NOT_SET' }), { env: ENV })(item('a bag', 's')));
    assert.equal(err.code, 'E_HTTP_TOKEN');
    assert.equal(err.transient, false);
    assert.match(err.message, /environment variable SYNTH_NOT_SET \(apiKeyEnv\) is not set or empty/);

    err = await httpError(createHttpItemGenerator(openai(), { env: { SYNTH_TEST_TOKEN: 'wrong-token-value' } })(item('a bag', 's')));
    assert.equal(err.status, 401);
    assert.equal(err.transient, false);
    assert.match(err.message, /check the bearer token in \$SYNTH_TEST_TOKEN/);
    assert.doesNotMatch(err.message, /wrong-token-value/);

    const res = await fetch(`${server.url}/v1/models`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(((await res.json()) as { data: { id: string }[] }).data[0]!.id, 'synthscale-embedded-gmm');
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'healthz needs no token');
  });

  test('server limits answer 400/413/404/405, and the client does not retry them', async () => {
    let err = await httpError(createHttpItemGenerator(a1111(), { env: ENV })(item('a bag', 's', { steps: 500 })));
    assert.deepEqual([err.status, err.transient], [400, false]);
    assert.match(err.message, /steps must be an integer in \[1, 100\]/);
    err = await httpError(createHttpItemGenerator(openai({ size: '2048x512' }), { env: ENV })(item('a bag', 's')));
    assert.deepEqual([err.status, err.transient], [400, false]);
    assert.match(err.message, /exceeds the limit of 1024x1024/);

    const post = async (path: string, body: string) => {
      const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    assert.equal((await post('/sdapi/v1/txt2img', JSON.stringify({ prompt: 'x'.repeat(20_000) }))).status, 413);
    assert.equal((await post('/sdapi/v1/txt2img', JSON.stringify({ prompt: 'a bag', batch_size: 3, n_iter: 2 }))).status, 400);
    assert.equal((await post('/v1/images/generations', JSON.stringify({ prompt: 'a bag', n: 5 }))).status, 400);
    const url = await post('/v1/images/generations', JSON.stringify({ prompt: 'a bag', response_format: 'url' }));
    assert.equal(url.status, 400);
    assert.match((url.body.error as { message: string }).message, /'url' is not supported/);
    assert.equal((await post('/sdapi/v1/txt2img', '{not json')).status, 400);
    assert.equal((await post('/sdapi/v1/nope', '{}')).status, 404);
    assert.equal((await fetch(`${server.url}/sdapi/v1/txt2img`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 405);

    // Seed -1 is "random": a fresh seed per request, reported in info.
    const seeds = [];
    for (let i = 0; i < 2; i++) {
      const r = await post('/sdapi/v1/txt2img', JSON.stringify({ prompt: 'a bag', seed: -1, width: 32, height: 32, batch_size: 2 }));
      const info = JSON.parse(r.body.info as string) as { seed: number; all_seeds: number[] };
      assert.deepEqual(info.all_seeds, [info.seed, info.seed + 1]);
      seeds.push(info.seed);
    }
    assert.notEqual(seeds[0], seeds[1]);
  });
});

// ---------------------------------------------------------------------------------------------
// A hostile server: the first path segment picks the misbehaviour.

function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A 69-byte PNG whose IHDR claims width x height (a decompression bomb's header). */
function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth; colour type 0 (gray)
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

describe('http generator backends against a hostile server', () => {
  let hostile: Server;
  let base: string;
  let goodPng: Buffer;
  let jpeg: Buffer;
  const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const behaviours: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    ok: (_, res) => json(res, 200, { images: [b64(goodPng)] }),
    jpeg: (_, res) => json(res, 200, { images: [`data:image/jpeg;base64,${b64(jpeg)}`] }),
    'oversized-stream': (_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"images":["${'A'.repeat(32 * 1024)}`);
      res.write('A'.repeat(2 * 1024 * 1024));
      res.end('"]}');
    },
    'oversized-declared': (_, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(512 * 1024 * 1024) });
      res.write('{"images":["');
    },
    'not-image': (_, res) => json(res, 200, { images: [b64('hello, this is certainly not a PNG')] }),
    'bad-base64': (_, res) => json(res, 200, { images: ['***not base64***'] }),
    svg: (_, res) => json(res, 200, { images: [b64('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"/>')] }),
    'two-images': (_, res) => json(res, 200, { images: [b64(goodPng), b64(goodPng)] }),
    'no-images': (_, res) => json(res, 200, { images: [] }),
    'not-json': (_, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>gateway</html>');
    },
    bomb: (_, res) => json(res, 200, { images: [b64(pngClaiming(20000, 20000))] }),
    'rate-limited': (_, res) => json(res, 429, { detail: 'slow down' }, { 'retry-after': '2' }),
    unavailable: (_, res) => json(res, 503, { detail: 'loading model' }, { 'retry-after': new Date(Date.now() + 3000).toUTCString() }),
    'bad-request': (req, res) => json(res, 400, { detail: `bad prompt; you sent ${req.headers.authorization}` }),
    redirect: (_, res) => {
      res.writeHead(302, { location: `${server.url}/sdapi/v1/txt2img` });
      res.end();
    },
    'url-only': (_, res) => json(res, 200, { data: [{ url: 'http://example.invalid/x.png' }] }),
    stall: () => {},
    'stall-body': (_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"images":["');
    },
  };

  before(async () => {
    goodPng = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).png().toBuffer();
    jpeg = await sharp({ create: { width: 96, height: 48, channels: 3, background: '#ffffff' } }).jpeg().toBuffer();
    hostile = createServer((req, res) => {
      req.resume();
      const name = (req.url ?? '').split('/')[1] ?? '';
      (behaviours[name] ?? ((_, r) => json(r, 404, {})))(req, res);
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
  });

  after(() => {
    hostile.closeAllConnections();
    hostile.close();
  });

  const client = (behaviour: string, over: Record<string, unknown> = {}): ItemGenerator =>
    createHttpItemGenerator(
      A1111GeneratorSchema.parse({ name: 'a1111', baseUrl: `${base}/${behaviour}`, apiKeyEnv: 'SYNTH_TEST_TOKEN', timeoutMs: 2000, maxResponseBytes: 256 * 1024, maxPixels: 4096 * 4096, ...over }),
      { env: ENV },
    );
  const fails = (behaviour: string, over: Record<string, unknown> = {}) => httpError(client(behaviour, over)(item('a bag', 's')));

  test('well-formed PNG and (non-square) JPEG responses are accepted', async () => {
    const gray = decodeGrayPng(await client('ok')(item('a bag', 's')), 28, 28, 'ok');
    assert.ok(gray.every((v) => Math.abs(v - 128) <= 2));
    const white = decodeGrayPng(await client('jpeg')(item('a bag', 's')), 28, 28, 'jpeg');
    assert.ok(white.every((v) => v >= 250), 'cover-cropped, not letterboxed');
  });

  test('bodies over maxResponseBytes are rejected without buffering them', async () => {
    let err = await fails('oversized-stream');
    assert.equal(err.code, 'E_HTTP_TOO_LARGE');
    assert.equal(err.transient, false);
    assert.match(err.message, /oversized-stream\/sdapi\/v1\/txt2img: response body of more than 262144 bytes exceeds/);
    err = await fails('oversized-declared');
    assert.equal(err.code, 'E_HTTP_TOO_LARGE');
    assert.match(err.message, /of 536870912 bytes \(Content-Length\)/);
  });

  test('malformed payloads are non-transient errors', async () => {
    const cases: [string, string, RegExp][] = [
      ['not-image', 'E_HTTP_BAD_IMAGE', /not a decodable image/],
      ['bad-base64', 'E_HTTP_BAD_RESPONSE', /not valid base64/],
      ['svg', 'E_HTTP_BAD_IMAGE', /unexpected image format svg/],
      ['two-images', 'E_HTTP_BAD_RESPONSE', /2 images, expected 1/],
      ['no-images', 'E_HTTP_BAD_RESPONSE', /0 images, expected 1/],
      ['not-json', 'E_HTTP_BAD_RESPONSE', /not JSON/],
      ['bomb', 'E_HTTP_BAD_IMAGE', /claims 20000x20000 = 400000000 pixels, over the cap of 16777216/],
    ];
    for (const [behaviour, code, message] of cases) {
      const err = await fails(behaviour);
      assert.equal(err.code, code, behaviour);
      assert.equal(err.transient, false, behaviour);
      assert.match(err.message, message, behaviour);
    }
    const err = await httpError(
      createHttpItemGenerator(OpenAiImagesGeneratorSchema.parse({ name: 'openai-images', baseUrl: `${base}/url-only`, model: 'm' }), { env: ENV })(item('a bag', 's')),
    );
    assert.match(err.message, /returned a URL, not b64_json/);
  });

  test('429 and 503 are transient with Retry-After; 400 is not; redirects are refused; the token is redacted', async () => {
    let err = await fails('rate-limited');
    assert.deepEqual([err.status, err.transient, err.retryAfterMs], [429, true, 2000]);
    assert.match(err.message, /HTTP 429, retry after 2000 ms: slow down/);
    err = await fails('unavailable');
    assert.deepEqual([err.status, err.transient], [503, true]);
    assert.ok(err.retryAfterMs! > 0 && err.retryAfterMs! <= 3000, `retryAfterMs ${err.retryAfterMs}`);
    assert.equal(parseRetryAfter('99999999'), 600_000, 'clamped');
    err = await fails('bad-request');
    assert.deepEqual([err.status, err.transient, err.retryAfterMs], [400, false, undefined]);
    assert.match(err.message, /bad prompt; you sent Bearer \[redacted\]/);
    assert.ok(!err.message.includes(TOKEN));
    err = await fails('redirect');
    assert.equal(err.transient, false);
    assert.match(err.message, /redirect\/sdapi\/v1\/txt2img: request failed/);
  });

  test('a stalled response hits the deadline (transient); the caller\'s abort wins with its own reason', async () => {
    for (const behaviour of ['stall', 'stall-body']) {
      const started = Date.now();
      const err = await fails(behaviour, { timeoutMs: 300 });
      assert.deepEqual([err.code, err.transient], ['E_HTTP_TIMEOUT', true], behaviour);
      assert.match(err.message, /no complete response within 300 ms/);
      assert.ok(Date.now() - started < 2000);
    }
    const cancel = new AbortController();
    const reason = new Error('cancelled by the test');
    setTimeout(() => cancel.abort(reason), 50);
    await assert.rejects(client('stall')(item('a bag', 's'), cancel.signal), (err) => err === reason);
  });

  test('specs keep secrets and odd URLs out of history', () => {
    const bad = (over: Record<string, unknown>) => !A1111GeneratorSchema.safeParse({ name: 'a1111', baseUrl: 'http://h:7860', ...over }).success;
    assert.ok(bad({ baseUrl: 'http://user:pw@h:7860' }));
    assert.ok(bad({ baseUrl: 'http://h:7860/?key=abc' }));
    assert.ok(bad({ baseUrl: 'ftp://h/' }));
    assert.ok(bad({ apiKeyEnv: 'sk-proj-abc123' }));
    assert.ok(bad({ token: 'x' }), 'strict');
    assert.ok(!bad({ apiKeyEnv: 'A1111_TOKEN' }));
    const spec = OpenAiImagesGeneratorSchema.parse({ name: 'openai-images', baseUrl: 'https://api.openai.com/v1', model: 'dall-e-2' });
    assert.deepEqual([spec.size, spec.extraFields, spec.timeoutMs], ['512x512', true, 60_000]);
  });
});
