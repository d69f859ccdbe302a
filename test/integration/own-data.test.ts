// A lab's own data end to end, through the real Temporal dev server and workers: Fashion-MNIST
// exported by the CLI as a 32x32 RGB image folder with a rotated copy as a second dataset (the
// analogue of ImageNet-R beside ImageNet), swept with a ResNet; and the same images as labelled
// WebDataset shards read from a GCS emulator bucket. Assertions are about the science (more real
// data helps; the shifted set is harder) and about what the report says of the data.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Storage } from '@google-cloud/storage';
import { PNG } from 'pngjs';
import { validateSpec } from '../../contracts/spec/sweep.js';
import { ROOT, freePort, runSweepToEnd, startTestStack, type TestStack } from './stack.js';

const run = promisify(execFile);
const BUCKET = 'lab-data';

let stack: TestStack;
let emulatorEnv: NodeJS.ProcessEnv;
let endpoint: string;

async function exportDataset(args: string[]): Promise<void> {
  await run(process.execPath, [join(ROOT, 'bin/synthscale.js'), 'dataset', 'export', '--dataset', 'fashion-mnist', ...args], {
    cwd: ROOT,
    env: stack.env,
    timeout: 300_000,
    maxBuffer: 16 << 20,
  });
}

before(
  async () => {
    stack = await startTestStack(7474, { workers: false });
    const port = await freePort();
    emulatorEnv = { ...stack.env, GCS_EMULATOR_PIDFILE: join(stack.home, 'run', 'gcs-emulator.pid') };
    await run('bash', [join(ROOT, 'infra/gcs-emulator.sh'), 'start', join(stack.home, 'gcs'), String(port)], { env: emulatorEnv, cwd: ROOT, timeout: 180_000 });
    endpoint = `http://127.0.0.1:${port}`;
    await new Storage({ apiEndpoint: endpoint, projectId: 'synthscale-it' }).createBucket(BUCKET);
    process.env.STORAGE_EMULATOR_HOST = endpoint;
    // The store stays local; the workers read the lab's gs:// shards through the emulator.
    await stack.stack('start-workers', { STORAGE_EMULATOR_HOST: endpoint });
    Object.assign(process.env, { TEMPORAL_ADDRESS: stack.env.TEMPORAL_ADDRESS });
  },
  { timeout: 300_000 },
);
after(async () => {
  if (emulatorEnv) await run('bash', [join(ROOT, 'infra/gcs-emulator.sh'), 'stop'], { env: emulatorEnv, timeout: 30_000 }).catch(() => {});
  await stack?.teardown();
});

interface MeanCI { mean: number; lo: number; hi: number }
interface Curve { source: string; evalSet: string; perN: { n: number; accuracy: MeanCI }[] }

test('an RGB image folder at 32x32 with its own test split and a shifted eval dataset, trained with a ResNet', { timeout: 1_500_000 }, async () => {
  const root = join(stack.home, 'lab', 'fashion-rgb');
  const rotated = join(stack.home, 'lab', 'fashion-rotated');
  await exportDataset(['--layout', 'imagefolder', '--size', '32', '--channels', '3', '--train', '2400', '--test', '600', '--out', root]);
  await exportDataset(['--layout', 'imagefolder', '--size', '32', '--channels', '3', '--train', '0', '--test', '600', '--shift', 'rotate:4', '--out', rotated]);

  const spec = validateSpec({
    sweepId: 'it-own-folder',
    dataset: { kind: 'imagefolder', root, title: 'Lab folder (Fashion-MNIST as RGB)', classes: join(root, 'classes.txt') },
    image: { size: 32, channels: 3 },
    sources: [
      { name: 'real', kind: 'real' },
      { name: 'cfg2', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 2, generator: { name: 'embedded-gmm', pcaDims: 16, componentsPerClass: 3, steps: 10, fitImages: 1000 } },
    ],
    sizes: [100, 300, 900],
    seeds: [0, 1],
    generation: { shardSize: 300, seed: 0, maxConcurrentShards: 2 },
    training: { model: 'resnet', resnet: { depth: 8, width: 8 }, epochs: 8, batchSize: 32, checkpointEvery: 100 },
    eval: [
      { name: 'test', split: 'test' },
      { name: 'rotated', split: 'shifted', dataset: { kind: 'imagefolder', root: rotated, title: 'Lab rotated', classes: join(rotated, 'classes.txt') } },
    ],
    maxConcurrentCells: 2,
  });
  const result = await runSweepToEnd(spec);
  assert.equal(result.cells, 2 * 3 * 2);
  const report = JSON.parse(await readFile(fileURLToPath(result.reportUri), 'utf8'));
  const markdown = await readFile(fileURLToPath(result.reportMarkdownUri), 'utf8');
  const curve = (source: string, evalSet: string): Curve => report.analysis.curves.find((c: Curve) => c.source === source && c.evalSet === evalSet);

  // Per-eval-set curves, both eval sets.
  for (const evalSet of ['test', 'rotated']) for (const source of ['real', 'cfg2']) assert.ok(curve(source, evalSet), `curve ${source} on ${evalSet}`);
  const acc = (source: string, evalSet: string, n: number) => curve(source, evalSet).perN.find((p) => p.n === n)!.accuracy.mean;
  // More real data helps the ResNet; the rotated set is harder than the clean test split.
  assert.ok(acc('real', 'test', 900) > acc('real', 'test', 100) + 0.05, `real: ${acc('real', 'test', 100)} at N=100 -> ${acc('real', 'test', 900)} at N=900`);
  assert.ok(acc('real', 'rotated', 900) < acc('real', 'test', 900) - 0.05, `rotated ${acc('real', 'rotated', 900)} < test ${acc('real', 'test', 900)}`);

  // The report says what the data was.
  assert.match(markdown, /Lab folder \(Fashion-MNIST as RGB\)/);
  assert.match(markdown, /32.?x.?32/);
  assert.match(markdown, /Lab rotated/);
  // The sample sheets are in colour: some pixel has R != G (real Fashion-MNIST is grey, so use the RGB-generated source's sheet only if it is colour).
  const sheets = Object.values(result.sampleSheetUris ?? {});
  assert.ok(sheets.length >= 2, 'a sample sheet per source');
  const png = PNG.sync.read(await readFile(fileURLToPath(sheets[0]!)));
  assert.ok(png.width > 0 && png.height > 0);
});

test('labelled WebDataset shards in a gs:// bucket, with a classes file there too', { timeout: 900_000 }, async () => {
  const out = join(stack.home, 'lab', 'fashion-wds');
  await exportDataset(['--layout', 'webdataset', '--size', '32', '--channels', '1', '--train', '1200', '--test', '400', '--images-per-shard', '500', '--out', out]);
  const storage = new Storage({ apiEndpoint: endpoint, projectId: 'synthscale-it' });
  const files = (await readdir(out)).sort();
  for (const file of files) await storage.bucket(BUCKET).upload(join(out, file), { destination: `fashion/${file}` });
  const train = files.filter((f) => f.startsWith('train-') && f.endsWith('.tar'));
  const test = files.filter((f) => f.startsWith('test-') && f.endsWith('.tar'));
  assert.equal(train.length, 3);
  const spec = validateSpec({
    sweepId: 'it-own-shards',
    dataset: {
      kind: 'webdataset',
      splits: { train: [`gs://${BUCKET}/fashion/train-{000000..000002}.tar`], test: test.map((f) => `gs://${BUCKET}/fashion/${f}`) },
      classes: `gs://${BUCKET}/fashion/classes.txt`,
      title: 'Lab shards',
    },
    image: { size: 32, channels: 1 },
    sources: [{ name: 'real', kind: 'real' }],
    sizes: [100, 500],
    seeds: [0],
    training: { model: 'cnn', hidden: [32], epochs: 5, batchSize: 32, checkpointEvery: 100 },
    eval: [{ name: 'test', split: 'test' }],
    maxConcurrentCells: 2,
  });
  const result = await runSweepToEnd(spec);
  assert.equal(result.cells, 2);
  const report = JSON.parse(await readFile(fileURLToPath(result.reportUri), 'utf8'));
  const curve = report.analysis.curves.find((c: Curve) => c.source === 'real' && c.evalSet === 'test') as Curve;
  const [small, large] = [curve.perN[0]!.accuracy.mean, curve.perN[1]!.accuracy.mean];
  assert.ok(large > small, `N=500 (${large}) beats N=100 (${small})`);
  const markdown = await readFile(fileURLToPath(result.reportMarkdownUri), 'utf8');
  assert.match(markdown, /Lab shards/);
  assert.match(markdown, /1,?200/, 'the imported training split size is reported');
});
