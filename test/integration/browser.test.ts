// Browser checks: a tiny sweep on its own Temporal dev server and workers, then headless Chromium
// (Debian's, driven by playwright-core; nothing is downloaded) looks at what a person would see:
// the Temporal UI's workflow list filtered to the sweep, the sweep's detail page, and the
// self-contained report.html. Screenshots land in $SYNTHSCALE_ARTIFACTS (default .synthscale/artifacts).
// Without Chromium (and no apt to install it, see infra/browser.sh) the test skips; with CI=true it fails instead.
import assert from 'node:assert/strict';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { validateSpec } from '../../contracts/spec/sweep.js';
import { connectClient, startSweep, sweepWorkflowId } from '../../cli/client.js';
import type { SweepResult } from '../../contracts/sweep.js';
import { findChromium, IN_CI, ROOT, startTestStack, type TestStack } from './stack.js';

const PORT = 7833; // Temporal frontend; the dev server's UI is on PORT + 1000 (see stack.ts)
const UI = `http://127.0.0.1:${PORT + 1000}`;
const SWEEP_ID = 'it-browser';
const WORKFLOW_ID = sweepWorkflowId(SWEEP_ID);
const QUERY = `SynthscaleSweepId="${SWEEP_ID}"`;
const ARTIFACTS = resolve(ROOT, process.env.SYNTHSCALE_ARTIFACTS ?? '.synthscale/artifacts');

const spec = validateSpec({
  sweepId: SWEEP_ID,
  dataset: 'fashion-mnist',
  sources: [
    { name: 'real', kind: 'real' },
    { name: 'cfg1-5', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 1.5, generator: { name: 'embedded-gmm', pcaDims: 16, componentsPerClass: 3, steps: 10 } },
  ],
  sizes: [100, 200],
  seeds: [0],
  generation: { shardSize: 150, seed: 0, maxConcurrentShards: 2 },
  training: { hidden: [32], epochs: 2, minSteps: 10, batchSize: 32, checkpointEvery: 10 },
  eval: [{ name: 'fmnist-test', split: 'test' }],
  maxConcurrentCells: 2,
});

// ---- Is there a browser? ----------------------------------------------------------------------
const found = await findChromium();

// ---- Timing and screenshot helpers ------------------------------------------------------------
const timings: [string, number][] = [];
async function timed<T>(part: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    const s = (performance.now() - t0) / 1000;
    timings.push([part, s]);
    console.log(`[browser-it] ${part}: ${s.toFixed(1)} s`);
  }
}

async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path, fullPage: true });
  const bytes = await readFile(path);
  assert.ok(bytes.length > 10_000, `${path} is ${bytes.length} bytes; a real screenshot is over 10 KB`);
  const png = PNG.sync.read(bytes); // throws unless it decodes as a PNG
  assert.ok(png.width >= 800 && png.height >= 400, `${path} is ${png.width}x${png.height}`);
  console.log(`[browser-it] saved ${path} (${png.width}x${png.height}, ${(bytes.length / 1024).toFixed(0)} KB)`);
  return path;
}

/** Poll the page's text until every string in `want` is in it, reloading between tries (visibility lags a little). */
async function waitForText(page: Page, want: string[], what: string, timeoutMs = 45_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) await page.reload({ waitUntil: 'domcontentloaded' });
    const tryUntil = Math.min(deadline, Date.now() + 8_000);
    while (Date.now() < tryUntil) {
      text = await page.locator('body').innerText().catch(() => '');
      if (want.every((w) => text.includes(w))) {
        if (attempt > 0) console.log(`[browser-it] ${what}: complete after ${attempt} reload(s)`);
        return text;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    if (Date.now() >= deadline) {
      const missing = want.filter((w) => !text.includes(w));
      assert.fail(`${what}: after ${timeoutMs / 1000} s the page (${page.url()}) still lacks ${JSON.stringify(missing)}; its text starts: ${JSON.stringify(text.slice(0, 600))}`);
    }
  }
}

// ---- The checks -------------------------------------------------------------------------------
if ('missing' in found && !IN_CI) {
  test('browser checks (Temporal UI, report.html)', { skip: found.missing }, () => {});
} else if ('missing' in found) {
  test('browser checks (Temporal UI, report.html)', () => {
    assert.fail(`CI=true and ${found.missing}. In CI the browser checks must run, not skip.`);
  });
} else {
  const executablePath = found.path;
  let stack: TestStack | undefined;
  let browser: Browser | undefined;
  let result: SweepResult;
  let runId: string;
  let childIds: string[];

  before(async () => {
    const t0 = performance.now();
    await mkdir(ARTIFACTS, { recursive: true });
    stack = await timed('start Temporal dev server + workers', () => startTestStack(PORT));
    Object.assign(process.env, { TEMPORAL_ADDRESS: stack.env.TEMPORAL_ADDRESS });
    await timed('tiny sweep (2 sources x sizes [100, 200])', async () => {
      const { client, close } = await connectClient();
      try {
        const handle = await startSweep(client, spec);
        result = (await handle.result()) as SweepResult;
        runId = (await handle.describe()).runId;
        childIds = [];
        for await (const wf of client.workflow.list({ query: QUERY })) if (wf.workflowId !== WORKFLOW_ID) childIds.push(wf.workflowId);
      } finally {
        await close();
      }
    });
    // chromiumSandbox: false (Playwright's default) passes --no-sandbox, which Chromium needs as root.
    browser = await timed('launch chromium', () =>
      chromium.launch({ executablePath, headless: true, chromiumSandbox: false, args: ['--disable-dev-shm-usage'] }),
    );
    console.log(`[browser-it] ${executablePath} (Chromium ${browser.version()}), setup ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await stack?.teardown();
    console.log(`[browser-it] timings: ${timings.map(([p, s]) => `${p} ${s.toFixed(1)} s`).join('; ')}`);
  });

  async function newPage(): Promise<Page> {
    const page = await browser!.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(30_000);
    return page;
  }

  test('the Temporal UI lists the sweep and its children under its search attribute', { timeout: 120_000 }, async () => {
    assert.ok(childIds.length >= 2 + spec.sizes.length * spec.sources.length, `the sweep has its source and cell children (${childIds.join(', ')})`);
    const url = `${UI}/namespaces/default/workflows?query=${encodeURIComponent(QUERY)}`;
    const page = await newPage();
    try {
      await timed('UI: workflow list', async () => {
        const t0 = performance.now();
        await page.goto(url, { waitUntil: 'domcontentloaded' });
        const loaded = performance.now();
        const text = await waitForText(page, [WORKFLOW_ID, ...childIds], `the workflow list filtered by ${QUERY}`);
        assert.ok(text.includes(WORKFLOW_ID), `the list shows ${WORKFLOW_ID}`);
        console.log(
          `[browser-it] ${url} lists ${WORKFLOW_ID} and its ${childIds.length} children ` +
            `(page ${((loaded - t0) / 1000).toFixed(1)} s, rows ${((performance.now() - loaded) / 1000).toFixed(1)} s later)`,
        );
        await screenshot(page, 'temporal-ui-sweep.png');
      });
      await timed('UI: sweep workflow page', async () => {
        const detail = `${UI}/namespaces/default/workflows/${encodeURIComponent(WORKFLOW_ID)}/${encodeURIComponent(runId)}/history`;
        await page.goto(detail, { waitUntil: 'domcontentloaded' });
        await waitForText(page, [WORKFLOW_ID, 'Completed'], `the workflow page ${detail}`);
        await screenshot(page, 'temporal-ui-workflow.png');
      });
    } finally {
      await page.close();
    }
  });

  test('report.html is self-contained and shows the scaling plot', { timeout: 60_000 }, async () => {
    const markdown = fileURLToPath(result.reportMarkdownUri);
    assert.match(markdown, /report\.md$/, `reportMarkdownUri ends in report.md: ${result.reportMarkdownUri}`);
    const html = markdown.replace(/report\.md$/, 'report.html');
    const exists = await stat(html).then((s) => s.isFile(), () => false);
    assert.ok(exists, `the sweep wrote no report.html next to report.md: missing ${html}`);
    const page = await newPage();
    const external: string[] = [];
    const failed: string[] = [];
    const errors: string[] = [];
    page.on('request', (req) => {
      if (!/^(file|data|blob|about):/.test(req.url())) external.push(req.url());
    });
    page.on('requestfailed', (req) => failed.push(`${req.url()} (${req.failure()?.errorText ?? '?'})`));
    page.on('pageerror', (err) => errors.push(err.message));
    try {
      await timed('report.html', async () => {
        await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
        const svg = page.locator('svg').first();
        await svg.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => undefined);
        assert.ok((await page.locator('svg').count()) > 0, `${html} has an <svg> plot`);
        const box = await svg.boundingBox();
        assert.ok(box && box.width > 100 && box.height > 100, `the plot is drawn at a readable size (${JSON.stringify(box)})`);
        const text = await page.locator('body').innerText();
        for (const source of spec.sources) assert.ok(text.includes(source.name) || (await svg.innerHTML()).includes(source.name), `report.html names source ${source.name}`);
        await screenshot(page, 'report.png');
      });
      assert.deepEqual(external, [], `a self-contained report requests nothing outside file:/data: URLs`);
      assert.deepEqual(failed, [], 'no request of report.html fails');
      assert.deepEqual(errors, [], 'report.html runs without page errors');
    } finally {
      await page.close();
    }
  });
}
