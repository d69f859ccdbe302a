// The science end to end, with assertions that can fail: seeds that redraw the data give the real
// curve an interval, and it must improve with N beyond it; the generator's CFG order of diversity
// must show (CFG 1 more diverse than 7.5); the control source and the generators' real-image
// budget must be reported; weak fits must be withheld, not headlined.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateSpec } from '../../contracts/spec/sweep.js';
import { runSweepToEnd, startTestStack, type TestStack } from './stack.js';

const generator = { name: 'embedded-gmm', pcaDims: 16, componentsPerClass: 3, steps: 12, fitImages: 3000 } as const;
const spec = validateSpec({
  sweepId: 'it-science',
  dataset: 'fashion-mnist',
  sources: [
    { name: 'real', kind: 'real' },
    { name: 'cfg1', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 1, generator },
    { name: 'cfg7-5', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 7.5, generator },
    { name: 'control', kind: 'control', generator },
  ],
  sizes: [50, 100, 200, 400, 800, 1600],
  seeds: [0, 1, 2],
  seedDraws: 'data',
  generation: { shardSize: 500, seed: 0, maxConcurrentShards: 2 },
  training: { hidden: [64], epochs: 20, batchSize: 64, checkpointEvery: 200 },
  eval: [{ name: 'fmnist-test', split: 'test' }],
  recognizability: { judgeImages: 2000 },
  analysis: { bootstrapDraws: 1000 },
  maxConcurrentCells: 2,
});

let stack: TestStack;
before(async () => {
  stack = await startTestStack(7373);
  Object.assign(process.env, { TEMPORAL_ADDRESS: stack.env.TEMPORAL_ADDRESS });
});
after(async () => stack?.teardown());

interface MeanCI { mean: number; lo: number; hi: number }
interface Curve { source: string; evalSet: string; perN: { n: number; error: MeanCI; accuracy: MeanCI }[] }

test('a sweep whose seeds redraw the data measures what the paper measures, and says how', { timeout: 1_200_000 }, async () => {
  const result = await runSweepToEnd(spec);
  assert.equal(result.cells, 4 * 6 * 3);
  const report = JSON.parse(await readFile(fileURLToPath(result.reportUri), 'utf8'));
  const markdown = await readFile(fileURLToPath(result.reportMarkdownUri), 'utf8');
  const { analysis } = report;
  const curve = (source: string): Curve => analysis.curves.find((c: Curve) => c.source === source && c.evalSet === 'fmnist-test');

  // Seeds redraw the data: every N has an interval from 3 seeds, and the real curve improves
  // from N = 200 to N = 1600 by more than both intervals. (At N = 50 a 20-step run is too noisy
  // across data draws for a 3-seed t-interval to exclude anything: that is what the interval says.)
  const real = curve('real');
  const first = real.perN.find((p) => p.n === 200)!;
  const last = real.perN.at(-1)!;
  assert.ok(Number.isFinite(first.error.lo) && Number.isFinite(last.error.hi), 'per-N intervals exist');
  assert.ok(last.error.hi < first.error.lo, `real error ${first.error.mean} at N=200 -> ${last.error.mean} at N=1600 beyond the intervals ${JSON.stringify([first.error, last.error])}`);

  // The generator's CFG order of diversity: guidance 7.5 concentrates samples, so CFG 1 is more diverse.
  const diversity = (source: string) => analysis.recognizability.find((r: { source: string }) => r.source === source)?.diversity;
  const low = diversity('cfg1');
  const high = diversity('cfg7-5');
  assert.ok(low && high, 'diversity measured for both CFG scales');
  // Within a class (pooled Vendi also counts how far apart guidance pushes the classes, and rises with CFG).
  assert.ok(low.classVendi > high.classVendi, `within-class Vendi CFG 1 ${low.classVendi} > CFG 7.5 ${high.classVendi}`);
  assert.ok(low.recall > high.recall, `recall CFG 1 ${low.recall} > CFG 7.5 ${high.recall}`);
  assert.ok(low.coverage > high.coverage, `coverage CFG 1 ${low.coverage} > CFG 7.5 ${high.coverage}`);

  // The control source and every generator's real-image budget are reported.
  const summary = (name: string) => report.sources.find((s: { name: string }) => s.name === name);
  for (const name of ['cfg1', 'cfg7-5', 'control']) assert.equal(summary(name).generatorRealImages, 3000, `${name}: real images its generator saw`);
  assert.ok(Object.keys(summary('real').seedManifests ?? {}).length === 3, 'the real source wrote one draw per seed');

  // The report leads with the findings and names its interval method.
  assert.ok(markdown.indexOf('## Findings') >= 0 && markdown.indexOf('## Findings') < markdown.indexOf('## Fits'), 'Findings come first');
  assert.match(markdown, /bootstrap/i);
  assert.match(markdown, /variance of drawing the data/i);
});
