// End to end, the paper's factors and analyses on a real Temporal dev server and real workers:
// a synthetic source generated over HTTP by `serve-generator`'s server (A1111 API, bearer token
// from the workers' environment) with WordNet-hypernym prompts, a mixed real+synthetic source,
// two OOD eval suites and the recognizability judge.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateSpec } from '../../contracts/spec/sweep.js';
import { connectClient, startSweep } from '../../cli/client.js';
import { loadSplit, locateFashionMnist, FASHION_MNIST_CLASSES } from '../../core/datasets/fashion-mnist.js';
import { fitGmmGenerator } from '../../activities/generate/gmm-diffusion.js';
import { startGeneratorServer, type GeneratorServer } from '../../activities/generate/generator-server.js';
import type { SweepResult } from '../../contracts/sweep.js';
import { startTestStack, ROOT, type TestStack, runSweepToEnd } from './stack.js';
import { join } from 'node:path';
import { unpackShard } from '../../core/shards/webdataset.js';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import sharp from 'sharp';
import { prepareCaptioner } from '../../core/text/captioner.js';
import { packPairShard, type PairSampleInput } from '../../core/shards/pairs.js';

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
  // Mixing N synthetic images into N real ones cannot lose what the real images taught: the mix is at
  // least close to real-only at every N (a broken mix, e.g. wrong labels, falls far below).
  assert.ok(mix.gains.every((g: { gain: number }) => g.gain > -0.05), `mixing gains ${JSON.stringify(mix.gains)}`);
  // Recognizability: 10 classes judged, correlation reported, bars rendered.
  const rec = analysis.recognizability.find((r: { source: string }) => r.source === 'http-hypernym');
  assert.equal(rec.perClass.length, 10);
  assert.ok(rec.perClass.every((p: { recognizability: number | null }) => p.recognizability !== null), 'every class judged');
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

  // The sentinel token in nothing the sweep left behind: worker and server logs, every stored
  // artifact (shards, manifests, prompts, models, evaluations, reports), and the Temporal server's
  // own database, which holds histories, memos, search attributes and heartbeat details.
  const leaks: string[] = [];
  const scan = async (dir: string): Promise<number> => {
    let files = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) files += await scan(path);
      else if (entry.isFile()) {
        files++;
        if ((await readFile(path)).includes(token)) leaks.push(path);
      }
    }
    return files;
  };
  const scanned = await scan(stack.home);
  assert.ok(scanned > 100, `scanned ${scanned} files under the test stack's home (logs, store, server database)`);
  assert.ok((await readdir(join(stack.home, 'run'))).some((f) => f.endsWith('.log')), 'worker logs were scanned');
  assert.deepEqual(leaks, [], 'files holding the token');
});

/**
 * A lab's own pairs, as img2dataset leaves them: 3 shards of 100 RGB JPEGs (56x56, upscaled
 * Fashion-MNIST training images the embedded pairs do not start with), captions in free text with
 * every tenth naming no class, metadata without labels.
 */
async function writeLabShards(dir: string): Promise<string[]> {
  const data = await loadSplit(await locateFashionMnist(join(ROOT, '.synthscale/data')), 'train');
  const captioner = await prepareCaptioner(FASHION_MNIST_CLASSES, { seed: 7 });
  const captions: string[] = [];
  for (let shard = 0; shard < 3; shard++) {
    const samples: PairSampleInput[] = [];
    for (let i = 0; i < 100; i++) {
      const index = shard * 100 + i;
      const row = 30_000 + index;
      const gray = Buffer.from(data.images.subarray(row * 784, (row + 1) * 784));
      const image = await sharp(gray, { raw: { width: 28, height: 28, channels: 1 } }).resize(56, 56).toColourspace('srgb').jpeg({ quality: 90 }).toBuffer();
      const caption = index % 10 === 9 ? 'product photo, studio light' : captioner.captionFor(data.labels[row]!, index);
      captions.push(caption);
      const key = `${String(shard).padStart(5, '0')}${String(i).padStart(4, '0')}`;
      samples.push({ key, image: new Uint8Array(image), ext: 'jpg', caption, meta: { url: `https://shop.example/${key}.jpg`, key, status: 'success', width: 56, height: 56, caption } });
    }
    await writeFile(join(dir, `${String(shard).padStart(5, '0')}.tar`), await packPairShard(samples));
  }
  return captions;
}

test('CLIP on real-pairs: a lab\'s img2dataset shards (file://), the embedded pairs, images generated from the lab\'s captions, and their mix', { timeout: 600_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synthscale-lab-pairs-'));
  const captions = await writeLabShards(dir);
  const spec = validateSpec({
    sweepId: 'it-pairs',
    dataset: 'fashion-mnist',
    tasks: ['clip'],
    sources: [
      { name: 'lab', kind: 'real-pairs', shards: [`file://${dir}/{00000..00002}.tar`] },
      { name: 'embedded-pairs', kind: 'real-pairs' },
      {
        name: 'lab-captions',
        kind: 'synthetic',
        generator: { name: 'embedded-gmm', pcaDims: 16, componentsPerClass: 2, steps: 10 },
        prompts: { strategy: 'real-captions', source: 'lab' },
        cfgScale: 2,
      },
      { name: 'lab-mix', kind: 'mixed', real: 'lab', synthetic: 'lab-captions', syntheticPerReal: 1 },
    ],
    sizes: [100, 200],
    seeds: [0],
    generation: { shardSize: 80, seed: 0, maxConcurrentShards: 2 },
    eval: [{ name: 'fmnist-test', split: 'test' }],
    clip: { hidden: [32], embedDim: 32, tokenWidth: 32, maxTokens: 16, epochs: 3, minSteps: 20, batchSize: 64, checkpointEvery: 10 },
    maxConcurrentCells: 2,
  });
  const result = await runSweepToEnd(spec);
  assert.equal(result.cells, 8, '4 sources x 2 N, CLIP only');
  const report = JSON.parse(await readFile(fileURLToPath(result.reportUri), 'utf8'));
  const markdown = await readFile(fileURLToPath(result.reportMarkdownUri), 'utf8');
  const analysis = report.analysis;
  // CLIP-only sources are analysed under their clip: names.
  const summary = (name: string) => analysis.sources.find((s: { name: string }) => s.name === `clip:${name}`);

  // The lab's pairs: 200 of its 300 needed, so 2 shards read; every tenth caption names no class.
  assert.equal(summary('lab').kind, 'real-pairs');
  assert.deepEqual(summary('lab').pairs, { inputShards: 2, labels: { metadata: 0, caption: 180, unlabeled: 20 } });
  assert.deepEqual(summary('embedded-pairs').pairs.labels, { metadata: 200, caption: 0, unlabeled: 0 });
  const labManifest = JSON.parse(await readFile(fileURLToPath(summary('lab').manifestUri), 'utf8'));
  assert.deepEqual(labManifest.inputs.map((i: { uri: string; used: number }) => [i.uri.slice(-9), i.used]), [['00000.tar', 100], ['00001.tar', 100]]);
  // Synthetic images were generated from exactly the lab's captions, in order.
  const synManifest = JSON.parse(await readFile(fileURLToPath(summary('lab-captions').manifestUri), 'utf8'));
  const synSamples = await unpackShard(new Uint8Array(await readFile(fileURLToPath(synManifest.shards[0].uri))), synManifest.shards[0].uri);
  assert.deepEqual(synSamples.slice(0, 12).map((s) => s.meta.prompt), captions.slice(0, 12));

  // CLIP curves only, each with the single template and the linear probe beside the ensemble.
  assert.ok(analysis.curves.every((c: { source: string }) => c.source.startsWith('clip:')), 'no classifier cells');
  for (const name of ['lab', 'embedded-pairs', 'lab-captions', 'lab-mix']) {
    const curve = analysis.curves.find((c: { source: string }) => c.source === `clip:${name}`);
    assert.ok(curve, `clip:${name} has a curve`);
    assert.deepEqual(curve.perN.map((p: { n: number }) => p.n), [100, 200]);
    for (const p of curve.perN) {
      assert.ok(p.singleTemplateAccuracy.mean >= 0 && p.singleTemplateAccuracy.mean <= 1, `${name}: single-template accuracy`);
      assert.ok(p.probeAccuracy.mean > 0.3, `${name} N=${p.n}: linear probe ${p.probeAccuracy.mean} is well above chance`);
    }
  }
  const embedded = analysis.curves.find((c: { source: string }) => c.source === 'clip:embedded-pairs');
  assert.ok(embedded.perN.at(-1).accuracy.mean > 0.2, `CLIP zero-shot on the embedded pairs, N=200: ${embedded.perN.at(-1).accuracy.mean}`);
  const realOf = (name: string) => analysis.comparisons.find((c: { source: string }) => c.source === name)?.realSource;
  assert.equal(realOf('clip:lab-captions'), 'clip:lab', 'synthetic compares with the first real-pairs source');
  assert.equal(realOf('clip:lab-mix'), 'clip:lab', 'a mix compares with its own real part');
  assert.ok(markdown.includes('### CLIP: zero-shot templates and linear probe'));
  assert.ok(markdown.includes('own captions (2 img2dataset shards; class from metadata 0, from caption 180, none 20)'));
});
