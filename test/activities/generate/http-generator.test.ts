// The HTTP generator backends (A1111 txt2img and OpenAI images) against a real server: the
// embedded generator served by startGeneratorServer over node:http, and the generator specs.
// Responses that cannot be trusted (oversized, malformed, non-image and bomb responses, rate
// limits, stalls) are in http-hostile.test.ts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { GenerateItem } from '../../../activities/generate/item-generator.js';
import { startGeneratorServer, type GeneratorServer } from '../../../activities/generate/generator-server.js';
import { fitGmmGenerator } from '../../../activities/generate/gmm/fit.js';
import type { GmmGeneratorModel } from '../../../activities/generate/gmm/model.js';
import { sampleImage } from '../../../activities/generate/gmm/sampler.js';
import { createHttpItemGenerator, httpSeed, type HttpImageMeta } from '../../../activities/generate/http-backends.js';
import { httpError } from '../../support/hostile-generator.js';
import { A1111GeneratorSchema, OpenAiImagesGeneratorSchema } from '../../../contracts/spec/generators.js';
import { promptToClassWeights } from '../../../core/text/text-condition.js';
import { synthesizePromptList } from '../../../activities/prompts/strategies.js';
import { packShard, sampleKey, unpackShard } from '../../../core/shards/webdataset.js';
import { FASHION_MNIST_CLASSES, IMAGE_PIXELS, loadSplit, locateFashionMnist } from '../../../core/datasets/fashion-mnist.js';
import { decodeGrayPng, encodeGrayPng } from '../../../core/png.js';

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
  // A suite: long only by the number of its (independent) tests.
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
    assert.equal(err.code, 'config');
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

describe('generator specs', () => {
  test('specs keep secrets and odd URLs out of history', () => {
    const bad = (over: Record<string, unknown>) => !A1111GeneratorSchema.safeParse({ name: 'a1111', baseUrl: 'http://h:7860', ...over }).success;
    assert.ok(bad({ baseUrl: 'http://user:pw@h:7860' }));
    assert.ok(bad({ baseUrl: 'http://h:7860/?key=abc' }));
    assert.ok(bad({ baseUrl: 'ftp://h/' }));
    assert.ok(bad({ apiKeyEnv: 'sk-proj-abc123' }));
    assert.ok(bad({ token: 'x' }), 'strict');
    assert.ok(!bad({ apiKeyEnv: 'A1111_TOKEN' }));
    const spec = OpenAiImagesGeneratorSchema.parse({ name: 'openai-images', baseUrl: 'https://api.openai.com/v1', model: 'dall-e-2' });
    assert.deepEqual([spec.size, spec.extraFields, spec.timeoutMs, spec.idleTimeoutMs, spec.maxRetryAfterMs, spec.checkSize], ['512x512', true, 60_000, 30_000, 60_000, true]);
  });
});
