// Both embedded generator families in one sweep through the real Temporal server and worker
// processes: the neural denoiser is trained by the fitGenerator activity (checkpointing into the
// store, its steps in the work ledger), its shards are sampled by its own backend, and the report
// compares the two families side by side.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readLedger } from '../../core/work-ledger.js';
import { openStore } from '../../core/storage.js';
import { TINY_GENERATOR, runSweepToEnd, startTestStack, tinySweepSpec, type TestStack } from './stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack(7353);
  process.env.TEMPORAL_ADDRESS = stack.env.TEMPORAL_ADDRESS;
});
after(async () => stack?.teardown());

/** The learned family at a size that trains in seconds on 2 cores. */
const TINY_DENOISER = { preset: 'neural-small', pcaDims: 16, hidden: [64, 64], trainSteps: 240, batchSize: 128, checkpointEvery: 80, steps: 10, fitImages: 2000 } as const;

test('a sweep with a Gaussian-mixture and a neural-denoiser source: both generate, train and are compared in the report', { timeout: 600_000 }, async () => {
  const spec = tinySweepSpec('generator-types', {
    sources: [
      { name: 'real', kind: 'real' },
      { name: 'gmm-cfg2', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 2, generator: TINY_GENERATOR },
      { name: 'neural-cfg2', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 2, generator: TINY_DENOISER },
    ],
    seeds: [0, 1],
  });
  const t0 = Date.now();
  const result = await runSweepToEnd(spec);
  console.log(`generator-types sweep: ${result.cells} cells in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  assert.equal(result.stats.cellsDone, 12);

  // The denoiser was trained in checkpointed pieces, each step once.
  const ledger = await readLedger(stack.ledger);
  const steps = ledger.filter((e) => e.kind === 'train-steps' && e.key.includes('generators/embedded-denoiser-'));
  assert.deepEqual(
    steps.map((e) => [e.from, e.to]),
    [[0, 80], [80, 160], [160, 240]],
    'three checkpoints of 80 steps',
  );
  const store = openStore(stack.store);
  const markdown = new TextDecoder().decode(await store.get(store.keyOf(result.reportMarkdownUri)));
  const types = markdown.slice(markdown.indexOf('## Generator types'), markdown.indexOf('\n## ', markdown.indexOf('## Generator types') + 4));
  assert.match(types, /the type of text-to-image model: Gaussian mixture .*; neural denoiser/);
  assert.match(types, /\| neural-denoiser \| neural-cfg2 \| neural-small: embedded-denoiser \(16 PCA dims, MLP 64-64, 240 steps x 128, 10 DDIM steps\)/);
  assert.match(types, /\| gaussian-mixture \| gmm-cfg2 \|/);
  assert.match(types, /gmm-cfg2 vs neural-cfg2 \(same prompts and CFG\): accuracy at N=200 differs by/);
  // Two families, two different sets of images: the report shows both sources' sample sheets.
  assert.ok(result.sampleSheetUris?.['neural-cfg2'] && result.sampleSheetUris['gmm-cfg2'], JSON.stringify(result.sampleSheetUris));
});
