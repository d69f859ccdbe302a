// `sweep start --dry-run`'s printout: the cell grid per source and in total, the images each
// synthetic source generates (largest N, seeds' windows, failure budget), and a time estimate from
// a bench report; rates the bench did not measure are said to be missing, never made up.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { formatDuration, printDryRun } from '../../cli/dry-run.js';
import { validateSpec } from '../../contracts/spec/sweep.js';

let dir: string;
let benchPath: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dry-run-'));
  benchPath = join(dir, 'results.json');
  await writeFile(
    benchPath,
    JSON.stringify({
      date: '2026-11-25T23:27:16.042Z',
      machine: { cores: 2, cpuModel: 'AMD EPYC' },
      backends: { tensorflow: 'unavailable', wasm: 'available', cpu: 'available' },
      rows: [
        { section: 'train', measurement: 'MLP 784-256-10 training (trainClassifier, batch 128, Adam), tensorflow backend', value: 10000, unit: 'img/s' },
        { section: 'train', measurement: 'MLP 784-256-10 training (trainClassifier, batch 128, Adam), wasm backend', value: 1000, unit: 'img/s' },
        { section: 'generator', measurement: 'embedded generator, sampleBatch (pcaDims 48, 12 comp/class = 120 K, steps 40, cfgScale 2)', value: 100, unit: 'img/s' },
        { section: 'shards', measurement: 'shard write: PNG encode + packShard (tar) + store.put (file://, sha256), 1000 generated images', value: 1000, unit: 'img/s' },
      ],
    }),
  );
});
after(() => rm(dir, { recursive: true, force: true }));

const spec = (extra: Record<string, unknown> = {}) =>
  validateSpec({
    sweepId: 'dry',
    dataset: 'fashion-mnist',
    tasks: ['classifier', 'clip'],
    sources: [
      { name: 'real', kind: 'real' },
      { name: 'pairs', kind: 'real-pairs' },
      { name: 'syn', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 2 },
      { name: 'mix', kind: 'mixed', real: 'real', synthetic: 'syn', syntheticPerReal: 1 },
    ],
    sizes: [1000, 100],
    seeds: [0, 1, 2],
    seedDraws: 'data',
    generation: { shardSize: 500, failureBudget: 0.02 },
    training: { epochs: 2, batchSize: 100, validationFraction: 0.1 },
    ...extra,
  });

async function lines(s = spec(), path = benchPath): Promise<string[]> {
  const out: string[] = [];
  await printDryRun(s, (l) => out.push(l), { benchPath: path });
  return out;
}

test('the cell grid per source and in total, and the images a synthetic source generates', async () => {
  const out = await lines();
  assert.deepEqual(out.slice(0, 10), [
    "Dry run of sweep 'dry': nothing is started, no Temporal connection.",
    'Sizes (N): 100, 1,000; seeds: 0, 1, 2 (each seed redraws the data)',
    '',
    'Cells (source x tasks x sizes x seeds):',
    '  real   real        2 tasks (classifier, clip) x 2 sizes x 3 seeds = 12 cells',
    '  pairs  real-pairs  1 task (clip) x 2 sizes x 3 seeds = 6 cells',
    '  syn    synthetic   2 tasks (classifier, clip) x 2 sizes x 3 seeds = 12 cells',
    '  mix    mixed       2 tasks (classifier, clip) x 2 sizes x 3 seeds = 12 cells',
    '  total: 42 cells',
    '',
  ]);
  // Largest N 1000, three seeds' windows 500 apart: 1000 + 2 x 500 = 2000; +2% = 2040, in shards of 500.
  assert.deepEqual(out.slice(10, 13), [
    'Images to generate (largest N 1,000, seed windows half a window apart, failure budget 2%, shards of 500):',
    '  syn    2,000 needed -> 2,040 generated in 5 shards (embedded-gmm, CFG 2)',
    '  total: 2,040 images',
  ]);
});

test('the estimate uses the measured rates of the backend auto picks here, and lists what it leaves out', async () => {
  const out = await lines();
  const estimate = out.slice(out.findIndex((l) => l.startsWith('Time estimate')));
  // Training: N=100 -> 90 train -> 1 step/epoch x 2 epochs x 100 = 200 images; N=1000 -> 900 -> 9 steps x 2 x 100 = 1800; x 3 seeds = 6000.
  // Mixed: N + N synthetic: 200 -> 180 -> 2 steps -> 400; 2000 -> 1800 -> 18 steps -> 3600; x3 = 12000. wasm: 1000 img/s.
  assert.deepEqual(estimate, [
    `Time estimate from this machine's bench (${benchPath}, 2026-11-25, 2 cores, AMD EPYC), one worker per queue, one thing at a time:`,
    '  generate syn: 2,040 images at 100 img/s + shard writing at 1,000 img/s = 22s',
    '    (rate: embedded generator, sampleBatch (pcaDims 48, 12 comp/class = 120 K, steps 40, cfgScale 2))',
    '  train real: 6 classifier cells, 6,000 images over 2 epochs at 1,000 img/s = 6s',
    '  train syn: 6 classifier cells, 6,000 images over 2 epochs at 1,000 img/s = 6s',
    '  train mix: 6 classifier cells, 12,000 images over 2 epochs at 1,000 img/s = 12s',
    '    (rate: MLP 784-256-10 training (trainClassifier, batch 128, Adam), wasm backend; early stopping may end cells sooner)',
    '  total: about 46s of worker time for what is estimated (more workers and maxConcurrentCells 4 shorten the wall time)',
    'Not estimated:',
    '  24 CLIP cells: no bench rate for CLIP training',
    '  fitting generators, prompts, real-pairs imports, evaluation, analysis and the report (not measured as rates)',
  ]);
});

test('rates not measured for the spec are said to be missing; no bench report, no estimate', async () => {
  const out = await lines(spec({ training: { model: 'resnet' }, sources: [{ name: 'syn', kind: 'synthetic', generator: { name: 'embedded-gmm', steps: 10 }, prompts: { strategy: 'classnames' }, cfgScale: 2 }] }));
  const notEstimated = out.slice(out.indexOf('Not estimated:') + 1);
  assert.match(notEstimated[0]!, /^ {2}generating syn: embedded-gmm with pcaDims 48, 12 components per class, 10 steps: no bench rate \(measured: embedded generator, sampleBatch/);
  assert.match(notEstimated[1]!, /^ {2}classifier training of resnet at 784 inputs on wasm: no bench rate for this model \(measured: MLP 784-256-10 on tensorflow; MLP 784-256-10 on wasm\)$/);
  assert.ok(out.includes('  total: nothing could be estimated'));
  const none = await lines(spec(), join(dir, 'absent.json'));
  assert.equal(none.at(-1), `Time estimate: none; no measured rates: ${join(dir, 'absent.json')} is missing (run \`npm run bench\` on this machine).`);
  assert.equal(formatDuration(3 * 3600 + 120), '3h02m');
  assert.equal(formatDuration(50 * 3600), '2.1 days');
});

test("the project's own bench report gives an estimate for the demo spec", async () => {
  const { readFile } = await import('node:fs/promises');
  const { parseSpecText } = await import('../../contracts/spec/sweep.js');
  const { PROJECT_ROOT } = await import('../../cli/code-fingerprint.js');
  const demo = parseSpecText(await readFile(join(PROJECT_ROOT, 'specs/demo.yaml'), 'utf8'), 'specs/demo.yaml');
  const out: string[] = [];
  await printDryRun(demo, (l) => out.push(l));
  assert.ok(out.some((l) => /^ {2}total: \d[\d,]* cells$/.test(l)));
  assert.ok(out.some((l) => /^ {2}total: about .* of worker time/.test(l)), out.join('\n'));
});
