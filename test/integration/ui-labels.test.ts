// What a person sees of a sweep in the Temporal UI without reading payloads: every child workflow
// labelled by what it works on (staticSummary "real · classifier · N=200 · seed 0"), the sweep's
// live progress (currentDetails "4 of 4 cells"), cells' memos and SynthscaleSize, results that
// carry their metrics, and SynthscaleStage="done" on every finished workflow. A tiny sweep on its
// own Temporal dev server (port 7810, UI 8810) and workers; headless Chromium (Debian's, through
// playwright-core) looks at the sweep's page. SYNTHSCALE_UI_SHOT=<path> also saves its screenshot
// there (docs/ui-sweep-after.png). Without Chromium the browser part skips; with CI=true it fails.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Client } from '@temporalio/client';
import { connectClient, startSweep, sweepWorkflowId } from '../../cli/client.js';
import { cellWorkflowPart, sourceWorkflowPart } from '../../contracts/keys.js';
import { validateSpec } from '../../contracts/spec/sweep.js';
import type { CellWorkflowOutput, SweepResult } from '../../contracts/sweep.js';
import { SIZE } from '../../workflows/search-attributes.js';
import { findChromium, IN_CI, ROOT, startTestStack, type TestStack } from './stack.js';

const PORT = 7810;
const UI = `http://127.0.0.1:${PORT + 1000}`;
const SWEEP_ID = 'it-ui-labels';
const WORKFLOW_ID = sweepWorkflowId(SWEEP_ID);
const BY_SWEEP = `SynthscaleSweepId="${SWEEP_ID}"`;
const ARTIFACTS = resolve(ROOT, process.env.SYNTHSCALE_ARTIFACTS ?? '.synthscale/artifacts');
const CELL_LABEL = 'real · classifier · N=200 · seed 0';

const spec = validateSpec({
  sweepId: SWEEP_ID,
  dataset: 'fashion-mnist',
  sources: [
    { name: 'real', kind: 'real' },
    { name: 'syn', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 1.5, generator: { name: 'embedded-gmm', pcaDims: 16, componentsPerClass: 3, steps: 10 } },
  ],
  sizes: [100, 200],
  seeds: [0],
  generation: { shardSize: 150, seed: 0, maxConcurrentShards: 2 },
  training: { hidden: [32], epochs: 2, minSteps: 10, batchSize: 32, checkpointEvery: 10 },
  eval: [{ name: 'fmnist-test', split: 'test' }],
  maxConcurrentCells: 2,
});
const CELL_COUNT = spec.sources.length * spec.sizes.length * spec.seeds.length;
const cellId = (source: string, size: number, seed: number) => `${WORKFLOW_ID}/${cellWorkflowPart({ source, task: 'classifier', size, seed })}`;

let stack: TestStack | undefined;
let client: Client;
let closeClient: (() => Promise<void>) | undefined;
let result: SweepResult;
let runId: string;
/** The sweep's current details as they changed while it ran. */
const liveDetails: string[] = [];

before(async () => {
  stack = await startTestStack(PORT);
  Object.assign(process.env, { TEMPORAL_ADDRESS: stack.env.TEMPORAL_ADDRESS });
  const connected = await connectClient();
  client = connected.client;
  closeClient = connected.close;
  const t0 = Date.now();
  const handle = await startSweep(client, spec);
  // While it runs: the current details the UI reads through the workflow metadata query.
  let running = true;
  const watching = (async () => {
    while (running) {
      const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata').catch(() => undefined);
      if (metadata?.currentDetails && liveDetails.at(-1) !== metadata.currentDetails) liveDetails.push(metadata.currentDetails);
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  result = (await handle.result()) as SweepResult;
  running = false;
  await watching;
  // A finished workflow answers too (a worker replays it): its last details.
  const last = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  if (last.currentDetails) liveDetails.push(last.currentDetails);
  runId = (await handle.describe()).runId;
  console.log(`[ui-labels] sweep of ${CELL_COUNT} cells done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

after(async () => {
  await closeClient?.();
  await stack?.teardown();
});

/** Visibility lags the workflows a little: poll until `accept` holds or the time is up. */
async function listUntil(query: string, accept: (ids: string[]) => boolean, timeoutMs = 30_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ids: string[] = [];
    for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
    if (accept(ids) || Date.now() > deadline) return ids.sort();
    await new Promise((r) => setTimeout(r, 1000));
  }
}

test('a cell carries its label, memo, SynthscaleSize and its metrics per eval set', { timeout: 60_000 }, async () => {
  assert.equal(result.cells, CELL_COUNT);
  const handle = client.workflow.getHandle(cellId('real', 200, 0));
  const described = await handle.describe();
  assert.equal(await described.staticSummary(), CELL_LABEL);
  assert.match((await described.staticDetails()) ?? '', /fmnist-test/, 'the cell\'s details list its eval sets');
  const memo = described.memo ?? {};
  assert.equal(memo.source, 'real');
  assert.equal(memo.size, 200);
  assert.equal(memo.seed, 0);
  assert.equal(memo.sweepId, SWEEP_ID);
  assert.equal(described.typedSearchAttributes.get(SIZE), 200);
  const output = (await handle.result()) as CellWorkflowOutput;
  assert.equal(output.metrics?.length, 1, `one metrics entry per eval set: ${JSON.stringify(output.metrics)}`);
  const [metrics] = output.metrics!;
  assert.equal(metrics!.evalSet, 'fmnist-test');
  assert.ok(metrics!.accuracy > 0.2 && metrics!.accuracy <= 1, `accuracy ${metrics!.accuracy} is a trained classifier's`);
  assert.ok(Number.isFinite(metrics!.loss) && metrics!.loss > 0, `loss ${metrics!.loss}`);

  const source = await client.workflow.getHandle(`${WORKFLOW_ID}/${sourceWorkflowPart('syn')}`).describe();
  assert.match((await source.staticSummary()) ?? '', /^syn · synthetic/);
  assert.equal(source.memo?.source, 'syn');
});

test('the sweep keeps its progress in its current details while it runs', () => {
  const cells = liveDetails.map((d) => /(\d+) of (\d+) cells/.exec(d)).filter((m) => m !== null);
  assert.ok(cells.length >= 2, `the details changed as cells finished: ${JSON.stringify(liveDetails)}`);
  assert.ok(cells.some((m) => Number(m[1]) < CELL_COUNT), `some details show the sweep part-way: ${JSON.stringify(liveDetails)}`);
  assert.match(liveDetails.at(-1)!, new RegExp(`^\\*\\*done\\*\\* · ${CELL_COUNT} of ${CELL_COUNT} cells`));
});

test('the progress is in the sweep\'s memo too, which the server serves without a worker', { timeout: 30_000 }, async () => {
  const memo = (await client.workflow.getHandle(`sweep-${SWEEP_ID}`).describe()).memo ?? {};
  assert.match(String(memo.progress), new RegExp(`^done · ${CELL_COUNT} of ${CELL_COUNT} cells`), `memo.progress: ${String(memo.progress)}`);
  assert.equal(memo.sweepId, SWEEP_ID, 'the memo keeps what the plan put there');
});

test('every finished workflow of the sweep ends at SynthscaleStage="done"', { timeout: 60_000 }, async () => {
  const all = await listUntil(BY_SWEEP, (ids) => ids.length === 1 + spec.sources.length + CELL_COUNT);
  const done = await listUntil(`${BY_SWEEP} AND SynthscaleStage="done"`, (ids) => ids.length === all.length);
  assert.deepEqual(done, all, 'the sweep, its sources and its cells are all at "done"');
  const n200 = await listUntil(`${BY_SWEEP} AND SynthscaleSize=200`, (ids) => ids.length === spec.sources.length);
  assert.deepEqual(n200, spec.sources.map((s) => cellId(s.name, 200, 0)).sort());
});

// ---- The browser part -------------------------------------------------------------------------
const found = await findChromium();

/**
 * The page's visible text, its markup (the timeline draws labels in SVG) and its frames' text (the UI
 * renders markdown details in a sandboxed iframe), until every string is in one of them.
 */
async function waitForText(page: Page, want: string[], what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    if (attempt > 0 && attempt % 16 === 0) await page.reload({ waitUntil: 'domcontentloaded' });
    const frames = await Promise.all(page.frames().map((f) => f.locator('body').innerText({ timeout: 1000 }).catch(() => '')));
    seen = `${frames.join('\n')}\n${await page.content().catch(() => '')}`;
    if (want.every((w) => seen.includes(w))) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  const missing = want.filter((w) => !seen.includes(w));
  assert.fail(`${what}: after ${timeoutMs / 1000} s ${page.url()} lacks ${JSON.stringify(missing)}`);
}

/** Saves the page; SYNTHSCALE_UI_SHOT=docs/ui-sweep-after.png also copies it there (`-details` before .png for the second page). */
async function screenshot(page: Page, name: string, docsSuffix = ''): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path, fullPage: true });
  const png = PNG.sync.read(await readFile(path));
  assert.ok(png.width >= 800 && png.height >= 400, `${path} is ${png.width}x${png.height}`);
  const docs = process.env.SYNTHSCALE_UI_SHOT ? resolve(ROOT, process.env.SYNTHSCALE_UI_SHOT.replace(/\.png$/, `${docsSuffix}.png`)) : undefined;
  if (docs) await copyFile(path, docs);
  console.log(`[ui-labels] saved ${path} (${png.width}x${png.height})${docs ? ` and ${docs}` : ''}`);
}

if ('missing' in found) {
  test('the Temporal UI labels the sweep\'s children and shows its progress', { skip: IN_CI ? false : found.missing }, () => {
    assert.fail(`CI=true and ${found.missing}`);
  });
} else {
  test('the Temporal UI labels the sweep\'s children and shows its progress', { timeout: 180_000 }, async () => {
    const browser: Browser = await chromium.launch({ executablePath: found.path, headless: true, chromiumSandbox: false, args: ['--disable-dev-shm-usage'] });
    try {
      // Tall enough that the timeline shows every child of the tiny sweep.
      const page = await browser.newPage({ viewport: { width: 1600, height: 1800 } });
      page.setDefaultTimeout(30_000);
      const base = `${UI}/namespaces/default/workflows/${encodeURIComponent(WORKFLOW_ID)}/${encodeURIComponent(runId)}`;
      await page.goto(`${base}/timeline`, { waitUntil: 'domcontentloaded' });
      // The screenshot first (the same page before and after labels existed), then the labels.
      await waitForText(page, ['planSweep', 'renderSweepReport'], 'the sweep\'s timeline');
      await screenshot(page, 'ui-sweep.png');
      // The timeline's bars: each child by its summary, each activity call by its stage and subject.
      await waitForText(page, [CELL_LABEL, 'syn · synthetic', 'analyze · 2 sources'], 'children and activities by their labels in the sweep\'s timeline');
      // Current details come from the workflow metadata query: live while a worker is up.
      await page.goto(`${base}/user-metadata`, { waitUntil: 'domcontentloaded' });
      await waitForText(page, [`${CELL_COUNT} of ${CELL_COUNT} cells`, 'sources 2 of 2 ready'], 'the sweep\'s current details (progress)');
      await screenshot(page, 'ui-sweep-details.png', '-details');
    } finally {
      await browser.close();
    }
  });
}
