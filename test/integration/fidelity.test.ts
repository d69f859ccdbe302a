// End to end, the paper's factors and analyses on a real Temporal dev server and real workers:
// a synthetic source generated over HTTP by `serve-generator`'s server (A1111 API, bearer token
// from the workers' environment) with WordNet-hypernym prompts, a mixed real+synthetic source,
// two OOD eval suites and the recognizability judge.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateSpec } from '../../core/spec.js';
import { connectClient, startSweep } from '../../cli/client.js';
import { loadSplit, locateFashionMnist, FASHION_MNIST_CLASSES } from '../../core/fashion-mnist.js';
import { fitGmmGenerator } from '../../activities/generate/gmm-diffusion.js';
import { startGeneratorServer, type GeneratorServer } from '../../activities/generate/generator-server.js';
import type { SweepResult } from '../../workflows/scaling-sweep.js';
import { startTestStack, ROOT, type TestStack } from './stack.js';
import { join } from 'node:path';
import { unpackShard } from '../../activities/shards/webdataset.js';

const TOKEN_ENV = 'SYNTHSCALE_IT_GENERATOR_TOKEN';
const token = `it-${randomBytes(12).toString('hex')}`;

let stack: TestStack;
let server: GeneratorServer;
const requests: string[] = [];

before(async () => {
  // The workers inherit this environment: the token reaches them only this way, never via the spec.
  process.env[TOKEN_ENV] = token;
  const dir = await locateFashionMnist(join(ROOT, '.synthscale/data'));
  const train = await loadSplit(dir, 'train');
  const n = 3000;
  const model = fitGmmGenerator(
    { images: train.images.subarray(0, n * 784), labels: train.labels.subarray(0, n), count: n },
    { pcaDims: 16, componentsPerClass: 3, fitSeed: 0 },
    [...FASHION_MNIST_CLASSES],
  );
  server = await startGeneratorServer({ model, token, log: (line) => requests.push(line) });
  stack = await startTestStack(7733);
  Object.assign(process.env, { TEMPORAL_ADDRESS: stack.env.TEMPORAL_ADDRESS });
});
after(async () => {
  await stack?.teardown();
  await server?.close();
});

/** Every string and payload (decoded as UTF-8) in a fetched history: payload data is binary there. */
function historyStrings(value: unknown, out: string[] = []): string {
  if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) historyStrings(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) historyStrings(v, out);
  return out.join('\n');
}

test('HTTP generator, hypernym prompts, mixing, OOD suites and recognizability in one sweep', { timeout: 600_000 }, async () => {
  const spec = validateSpec({
    sweepId: 'it-fidelity',
    dataset: 'fashion-mnist',
    sources: [
      { name: 'real', kind: 'real' },
      {
        name: 'http-hypernym',
        kind: 'synthetic',
        generator: { name: 'a1111', baseUrl: server.url, steps: 10, width: 64, height: 64, apiKeyEnv: TOKEN_ENV },
        prompts: { strategy: 'classname-hypernym' },
        cfgScale: 3,
      },
      { name: 'real-plus-synthetic', kind: 'mixed', real: 'real', synthetic: 'http-hypernym', syntheticPerReal: 1 },
    ],
    sizes: [100, 200, 300],
    seeds: [0],
    generation: { shardSize: 160, seed: 0, maxConcurrentShards: 2 },
    training: { hidden: [32], epochs: 3, minSteps: 20, batchSize: 32, checkpointEvery: 10 },
    eval: [{ name: 'fmnist-test', split: 'test' }],
    ood: [{ suite: 'invert' }, { suite: 'rotate', severity: 2 }],
    recognizability: { judgeImages: 1000 },
    tasks: ['classifier', 'clip'],
    clip: { hidden: [32], embedDim: 32, tokenWidth: 32, maxTokens: 16, epochs: 3, minSteps: 20, batchSize: 64, checkpointEvery: 10 },
    maxConcurrentCells: 2,
  });
  const { client, close } = await connectClient();
  let result: SweepResult;
  let historyText = '';
  try {
    const handle = await startSweep(client, spec);
    result = (await handle.result()) as SweepResult;
    // Every workflow of the sweep (parent and children): the token must appear in none of their histories.
    for await (const wf of client.workflow.list({ query: `SynthscaleSweepId = "it-fidelity"` })) {
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      historyText += historyStrings(history);
    }
  } finally {
    await close();
  }
  assert.equal(result.cells, 18, '3 sources x 3 N x (classifier + clip)');
  assert.ok(requests.length >= 300, `the generator server answered ${requests.length} requests`);
  assert.ok(historyText.length > 10_000, 'histories were fetched');
  assert.ok(!historyText.includes(token), 'the bearer token is in no workflow history');
  assert.ok(historyText.includes(TOKEN_ENV), 'the spec names the variable instead');

  const report = JSON.parse(await readFile(fileURLToPath(result.reportUri), 'utf8'));
  const markdown = await readFile(fileURLToPath(result.reportMarkdownUri), 'utf8');
  const analysis = report.analysis;
  assert.deepEqual(analysis.evalSets, ['fmnist-test', 'ood-invert', 'ood-rotate-s2']);
  // Each source has a curve on every eval set; inversion hurts every source.
  for (const source of ['real', 'http-hypernym', 'real-plus-synthetic']) {
    const clean = analysis.curves.find((c: { source: string; evalSet: string }) => c.source === source && c.evalSet === 'fmnist-test');
    const inverted = analysis.curves.find((c: { source: string; evalSet: string }) => c.source === source && c.evalSet === 'ood-invert');
    assert.ok(clean && inverted, `${source} has clean and OOD curves`);
    assert.ok(inverted.perN.at(-1).accuracy.mean < clean.perN.at(-1).accuracy.mean, `${source}: inversion lowers accuracy`);
  }
  // CLIP cells: zero-shot curves per source, compared with CLIP on real data, beside the classifiers.
  for (const source of ['clip:real', 'clip:http-hypernym', 'clip:real-plus-synthetic']) {
    const clip = analysis.curves.find((c: { source: string; evalSet: string }) => c.source === source && c.evalSet === 'fmnist-test');
    assert.ok(clip, `${source} has a zero-shot curve`);
    assert.deepEqual(clip.perN.map((p: { n: number }) => p.n), [100, 200, 300]);
  }
  const clipReal = analysis.curves.find((c: { source: string; evalSet: string }) => c.source === 'clip:real' && c.evalSet === 'fmnist-test');
  assert.ok(clipReal.perN.at(-1).accuracy.mean > 0.3, `CLIP zero-shot on real pairs, N=300: ${clipReal.perN.at(-1).accuracy.mean}`);
  assert.ok(analysis.comparisons.some((c: { source: string; realSource: string }) => c.source === 'clip:http-hypernym' && c.realSource === 'clip:real'));
  assert.ok(markdown.includes('## Classifiers vs CLIP'));
  // Mixing: gains over real-only at each real N.
  const mix = analysis.mixing.find((m: { source: string; evalSet: string }) => m.source === 'real-plus-synthetic' && m.evalSet === 'fmnist-test');
  assert.deepEqual(mix.gains.map((g: { n: number }) => g.n), [100, 200, 300]);
  assert.ok(mix.gains.every((g: { gain: number }) => Number.isFinite(g.gain)));
  // Recognizability: 10 classes judged, correlation reported, bars rendered.
  const rec = analysis.recognizability.find((r: { source: string }) => r.source === 'http-hypernym');
  assert.equal(rec.perClass.length, 10);
  assert.ok(rec.perClass.every((p: { recognizability: number | null }) => p.recognizability !== null && p.recognizability >= 0 && p.recognizability <= 1));
  assert.ok(rec.overall > 0.2, `overall recognizability ${rec.overall} is above chance`);
  assert.ok(rec.judgeTestAccuracy > 0.6, `judge accuracy ${rec.judgeTestAccuracy}`);
  assert.equal(rec.correlation.n, 10);
  const bars = await readFile(fileURLToPath(result.reportMarkdownUri).replace(/report\.md$/, 'recognizability.svg'), 'utf8');
  assert.match(bars.slice(0, 200), /<svg /);
  for (const section of ['## Out-of-distribution evaluation', '## Mixing real and synthetic data', '## Recognizability']) {
    assert.ok(markdown.includes(section), `report.md has ${section}`);
  }
  assert.ok(markdown.includes('A1111 txt2img at 127.0.0.1'), 'the source is described by its endpoint');
  // Generated samples keep what the server returned: endpoint, seeds and the original size.
  const httpSource = analysis.sources.find((s: { name: string }) => s.name === 'http-hypernym');
  const manifest = JSON.parse(await readFile(fileURLToPath(httpSource.manifestUri), 'utf8'));
  const samples = await unpackShard(new Uint8Array(await readFile(fileURLToPath(manifest.shards[0].uri))), manifest.shards[0].uri);
  const meta = samples[0]!.meta;
  assert.match(meta.http?.endpoint ?? '', /\/sdapi\/v1\/txt2img$/);
  assert.equal(meta.http?.width, 64);
  assert.equal(meta.http?.reportedSeed, meta.http?.seed, 'the server used the seed we sent');
  assert.match(meta.prompt ?? '', /a type of|a kind of|hypernym|,/);
  assert.ok(!markdown.includes(token) && !JSON.stringify(report).includes(token), 'no token in the report');
});
