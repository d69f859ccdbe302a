// End to end: a tiny sweep through a real Temporal dev server and real worker processes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectClient, startSweep } from '../../cli/client.js';
import type { SweepResult } from '../../contracts/sweep.js';
import { NINE_CELL_SOURCES, ROOT, startTestStack, tinySweepSpec, type TestStack } from './stack.js';

const spec = tinySweepSpec('it-tiny', { sources: NINE_CELL_SOURCES, sizes: [100, 200, 400] });

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
  // Science, not ranges: more real data helps (N=100 -> 400), beyond what one seed's noise explains.
  const acc = (source: string, n: number) => cells.find((c: { source: string; size: number }) => c.source === source && c.size === n).accuracy;
  assert.ok(acc('real', 400) - acc('real', 100) > 0.03, `real: N=100 ${acc('real', 100)} -> N=400 ${acc('real', 400)}`);
  // The visual report: one self-contained page, PNG plot, a sample sheet per source with images.
  const html = await readFile(fileURLToPath(result.reportHtmlUri!), 'utf8');
  assert.match(html, /<svg[\s\S]*ci_band/, 'report.html holds the plot with its confidence bands');
  assert.ok(!/(src|href)="https?:/.test(html), 'report.html loads nothing from the network');
  assert.deepEqual(Object.keys(result.sampleSheetUris ?? {}).sort(), ['cfg1-5', 'cfg7-5', 'real']);
  const png = await readFile(fileURLToPath(result.plotPngUri!));
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  const real400 = cells.find((c: { source: string; size: number }) => c.source === 'real' && c.size === 400);
  assert.ok(real400.accuracy > 0.55, `real data, N=400: accuracy ${real400.accuracy}`);
});

const execFileAsync = promisify(execFile);

/** Run the synthscale CLI (bin/synthscale.js) against this test's stack. */
async function cli(args: string[]): Promise<string> {
  const { stdout, stderr } = await execFileAsync(process.execPath, [join(ROOT, 'bin/synthscale.js'), ...args], {
    env: { ...stack.env, CI: 'true' },
    cwd: ROOT,
    timeout: 300_000,
    maxBuffer: 16 << 20,
  });
  return stdout + stderr;
}

async function runIdOf(workflowId: string): Promise<string> {
  const { client, close } = await connectClient();
  try {
    return (await client.workflow.getHandle(workflowId).describe()).runId;
  } finally {
    await close();
  }
}

test('sweep rerun: unchanged spec and code return the last result at once; a changed recipe reruns only the cells', { timeout: 600_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synthscale-rerun-'));
  const specFile = join(dir, 'spec.json');
  await writeFile(specFile, JSON.stringify(spec));
  // The first test's run carries no code fingerprint: the rerun starts a run, which finds everything cached.
  const first = await cli(['sweep', 'rerun', specFile]);
  assert.match(first, /running again \(the code changed\)/);
  assert.match(first, /9 cells \(9 from cache\), 0 images generated, 0 training steps/);
  const runId = await runIdOf('sweep-it-tiny');

  const t0 = Date.now();
  const second = await cli(['sweep', 'rerun', specFile]);
  assert.match(second, /unchanged \(spec and code [0-9a-f]{16}\); result of run/);
  assert.equal(await runIdOf('sweep-it-tiny'), runId, 'no new run was started');
  console.log(`unchanged rerun answered in ${Date.now() - t0} ms (CLI start included)`);

  // Another training recipe: the data stage is found in the store, every cell trains again.
  await writeFile(specFile, JSON.stringify({ ...spec, training: { ...spec.training, epochs: 4 } }));
  const third = await cli(['sweep', 'rerun', specFile]);
  assert.match(third, /running again \(the spec changed\)/);
  assert.match(third, /9 cells \(0 from cache\), 0 images generated, [1-9]\d* training steps/);
});

test('the Temporal CLI starts a sweep from `synthscale spec --json` output, and a schedule runs it', { timeout: 600_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synthscale-tcli-'));
  const specFile = join(dir, 'spec.json');
  // Same sources and recipe as the first test under another sweep id: every artifact is found by content key.
  await writeFile(join(dir, 'spec.yaml'), JSON.stringify({ ...spec, sweepId: 'it-temporal-cli' }));
  await writeFile(specFile, await cli(['spec', join(dir, 'spec.yaml'), '--json']));
  const temporal = stack.env.TEMPORAL_CLI!;
  const address = ['--address', stack.env.TEMPORAL_ADDRESS!];
  await execFileAsync(temporal, ['workflow', 'start', '--type', 'scalingSweepWorkflow', '--task-queue', 'cpu', '--workflow-id', 'sweep-it-temporal-cli', '--input-file', specFile, ...address]);
  const { stdout: resultText } = await execFileAsync(temporal, ['workflow', 'result', '--workflow-id', 'sweep-it-temporal-cli', '--output', 'json', ...address], { maxBuffer: 16 << 20, timeout: 300_000 });
  assert.match(resultText, /"cachedCells":\s*9/);
  // The sweep set its search attribute, so `temporal workflow list` finds its whole tree.
  const { stdout: listed } = await execFileAsync(temporal, ['workflow', 'list', '--query', 'SynthscaleSweepId="it-temporal-cli"', ...address]);
  assert.ok(listed.includes('sweep-it-temporal-cli/cell/real/n100/s0'), listed);

  // Nightly schedule (README): create, trigger now, and the triggered run completes.
  await execFileAsync(temporal, [
    'schedule', 'create', '--schedule-id', 'it-nightly', '--cron', '0 3 * * *', '--workflow-id', 'sweep-it-nightly',
    '--type', 'scalingSweepWorkflow', '--task-queue', 'cpu', '--input-file', specFile, ...address,
  ]);
  await execFileAsync(temporal, ['schedule', 'trigger', '--schedule-id', 'it-nightly', ...address]);
  const { client, close } = await connectClient();
  try {
    let scheduled: string | undefined;
    for (let i = 0; i < 60 && !scheduled; i++) {
      for await (const wf of client.workflow.list({ query: 'WorkflowId STARTS_WITH "sweep-it-nightly"' })) if (!wf.workflowId.includes('/')) scheduled = wf.workflowId;
      if (!scheduled) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(scheduled, 'the schedule started a sweep');
    const result = (await client.workflow.getHandle(scheduled).result()) as SweepResult;
    assert.equal(result.cachedCells, 9);
  } finally {
    await close();
    await execFileAsync(temporal, ['schedule', 'delete', '--schedule-id', 'it-nightly', ...address]).catch(() => undefined);
  }
});
