// End to end: a tiny sweep through a real Temporal dev server and real worker processes.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateSpec } from '../../core/spec.js';
import { connectClient, startSweep } from '../../cli/client.js';
import type { SweepResult } from '../../workflows/scaling-sweep.js';
import { startTestStack, type TestStack } from './stack.js';

const spec = validateSpec({
  sweepId: 'it-tiny',
  dataset: 'fashion-mnist',
  sources: [
    { name: 'real', kind: 'real' },
    { name: 'cfg1-5', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 1.5, generator: { name: 'embedded-gmm', pcaDims: 16, componentsPerClass: 3, steps: 10 } },
    { name: 'cfg7-5', kind: 'synthetic', prompts: { strategy: 'clip-templates' }, cfgScale: 7.5, generator: { name: 'embedded-gmm', pcaDims: 16, componentsPerClass: 3, steps: 10 } },
  ],
  sizes: [100, 200, 400],
  seeds: [0],
  generation: { shardSize: 150, seed: 0, maxConcurrentShards: 2 },
  training: { hidden: [32], epochs: 3, minSteps: 20, batchSize: 32, checkpointEvery: 10 },
  eval: [{ name: 'fmnist-test', split: 'test' }],
  maxConcurrentCells: 2,
});

let stack: TestStack;
before(async () => {
  stack = await startTestStack(7433);
  Object.assign(process.env, { TEMPORAL_ADDRESS: stack.env.TEMPORAL_ADDRESS });
});
after(async () => stack?.teardown());

async function runSweep(): Promise<{ result: SweepResult; workflowId: string; runId: string }> {
  const { client, close } = await connectClient();
  try {
    const handle = await startSweep(client, spec);
    const result = (await handle.result()) as SweepResult;
    const description = await handle.describe();
    return { result, workflowId: handle.workflowId, runId: description.runId };
  } finally {
    await close();
  }
}

test('a tiny sweep runs end to end and its report holds every source, size and fit', { timeout: 600_000 }, async () => {
  const { result } = await runSweep();
  assert.equal(result.cells, 9);
  assert.equal(result.cachedCells, 0);
  const report = JSON.parse(await readFile(fileURLToPath(result.reportUri), 'utf8'));
  const markdown = await readFile(fileURLToPath(result.reportMarkdownUri), 'utf8');
  const svg = await readFile(fileURLToPath(result.plotUri), 'utf8');
  assert.match(svg.slice(0, 200), /<svg /, 'plot is an SVG');
  for (const name of ['real', 'cfg1-5', 'cfg7-5']) {
    assert.ok(markdown.includes(name), `report.md names ${name}`);
    assert.ok(svg.includes(name), `plot has a line for ${name}`);
  }
  const cells = report.analysis.cells ?? report.cells;
  assert.equal(cells.length, 9, 'one metric row per (source, N, seed) cell');
  for (const cell of cells) {
    assert.ok(cell.accuracy > 0.1 && cell.accuracy <= 1, `${cell.source} n=${cell.size} accuracy ${cell.accuracy} above chance`);
    assert.ok(Number.isFinite(cell.loss) && cell.loss > 0);
  }
  const real400 = cells.find((c: { source: string; size: number }) => c.source === 'real' && c.size === 400);
  assert.ok(real400.accuracy > 0.55, `real data, N=400: accuracy ${real400.accuracy}`);
});
