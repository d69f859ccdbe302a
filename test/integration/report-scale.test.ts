// The report at the paper spec's scale, in a real browser: specs/paper.yaml's sources and eval sets
// (every source, the clean eval set and the eight default OOD suites) with per-cell numbers from
// power laws with noise (test/activities/report/paper-fixture.ts), rendered by the real renderer and
// opened in headless Chromium (Debian's, driven by playwright-core, as in browser.test.ts). Checks
// what a reader meets: a page of bounded height, a summary that fits one 1280x800 screen, a source
// legend that hides a source's curves, and the sources with identical images shown once.
// Screenshots land in $SYNTHSCALE_ARTIFACTS (default .synthscale/artifacts); with
// SYNTHSCALE_UPDATE_DOCS=1 the top screen is also written to docs/report-paper-after.png.
// Without Chromium the test skips (with CI=true it fails instead). No Temporal stack is needed.
import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { renderReport, type RenderedReport } from '../../activities/report/render.js';
import { paperFixture, type PaperFixture } from '../activities/report/paper-fixture.js';
import { assertSelfContained } from '../activities/report/report-fixtures.js';
import { findChromium, IN_CI } from './stack.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ARTIFACTS = resolve(ROOT, process.env.SYNTHSCALE_ARTIFACTS ?? '.synthscale/artifacts');
/** The whole page at 1280 px wide (with every eval set's tables but the first folded); before this work it was 163,503 px. */
const MAX_PAGE_HEIGHT = 15_000;
const SCREEN = { width: 1280, height: 800 };
const WEAK_GROUP = 'weak-classnames-cfg2 = weak-clip-templates-cfg2 = weak-captions-cfg2';

const found = await findChromium();

if ('missing' in found && !IN_CI) {
  test('the paper-scale report in a browser', { skip: found.missing }, () => {});
} else if ('missing' in found) {
  test('the paper-scale report in a browser', () => assert.fail(`CI=true and ${found.missing}. In CI the browser checks must run, not skip.`));
} else {
  const executablePath = found.path;
  let browser: Browser | undefined;
  let fixture: PaperFixture;
  let rendered: RenderedReport;
  let htmlPath: string;

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    fixture = await paperFixture();
    rendered = await renderReport(fixture.analysis, fixture.meta, { imageDigests: fixture.imageDigests });
    htmlPath = join(ARTIFACTS, 'report-paper.html');
    await writeFile(htmlPath, rendered.html);
    browser = await chromium.launch({ executablePath, headless: true, chromiumSandbox: false, args: ['--disable-dev-shm-usage'] });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
  });

  /** The report in a fresh page of `viewport`, failing on any request off the page, failed load or page error. */
  async function open(viewport = SCREEN): Promise<{ page: Page; problems: () => string[] }> {
    const page = await browser!.newPage({ viewport });
    page.setDefaultTimeout(30_000);
    const problems: string[] = [];
    page.on('request', (req) => {
      if (!/^(file|data|about):/.test(req.url())) problems.push(`request ${req.url()}`);
    });
    page.on('requestfailed', (req) => problems.push(`failed ${req.url()}`));
    page.on('pageerror', (err) => problems.push(`page error ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console ${msg.text()}`);
    });
    await page.goto(pathToFileURL(htmlPath).href, { waitUntil: 'load' });
    return { page, problems: () => problems };
  }

  test('the fixture is the paper spec: every source, 9 eval sets, the weak generator three times the same images', () => {
    assert.equal(fixture.analysis.sources.length, fixture.spec.sources.length);
    assert.ok(fixture.spec.sources.length >= 23, `${fixture.spec.sources.length} sources`);
    assert.equal(fixture.analysis.evalSets.length, 9);
    assertSelfContained(rendered.html);
  });

  test('the page height is bounded and the summary fits one 1280x800 screen', { timeout: 60_000 }, async () => {
    const { page, problems } = await open();
    try {
      const height = Number(await page.evaluate('document.documentElement.scrollHeight'));
      console.log(`[report-scale] page height at 1280 px: ${height} px (bound ${MAX_PAGE_HEIGHT}; 163,503 px before)`);
      assert.ok(height < MAX_PAGE_HEIGHT, `the report page is ${height} px tall; the bound is ${MAX_PAGE_HEIGHT}`);
      const summary = await page.locator('section.summary').boundingBox();
      assert.ok(summary, 'the page has a summary section');
      assert.ok(summary.y + summary.height <= SCREEN.height, `the summary ends at ${summary.y + summary.height} px, below the first ${SCREEN.height} px screen`);
      const text = await page.locator('section.summary').innerText();
      for (const want of ['fashion-mnist-test', 'ood-elastic-s3', 'supported', 'contradicted', 'slope ratio']) assert.ok(text.includes(want), `the summary mentions ${want}`);
      assert.match(text, /\d\.\d\d \[\d\.\d{3}, \d\.\d{3}\]/, 'a slope ratio with its interval');
      const shot = join(ARTIFACTS, 'report-paper-after.png');
      await page.screenshot({ path: shot });
      if (process.env.SYNTHSCALE_UPDATE_DOCS === '1') await copyFile(shot, join(ROOT, 'docs/report-paper-after.png'));
      assert.deepEqual(problems(), [], 'the page loads nothing from outside and runs without errors');
    } finally {
      await page.close();
    }
  });

  test('sources with identical images are one row, named by all of them, with the reason', { timeout: 60_000 }, async () => {
    const { page } = await open();
    try {
      const summary = await page.locator('section.summary').innerText();
      assert.ok(summary.includes(`${WEAK_GROUP} (same images: the generator ignores the prompt)`), 'the summary names the group and why');
      const headline = page.locator('#headline ~ details').first().locator('table');
      const firstColumn = await headline.locator('tbody tr td:first-child').allInnerTexts();
      assert.ok(firstColumn.includes(WEAK_GROUP), `the headline table has the row "${WEAK_GROUP}"`);
      for (const hidden of ['weak-clip-templates-cfg2', 'weak-captions-cfg2']) assert.ok(!firstColumn.includes(hidden), `${hidden} has no row of its own`);
      assert.equal(firstColumn.length, fixture.analysis.sources.length - 6, 'three groups of three sources: six rows fewer');
    } finally {
      await page.close();
    }
  });

  test("the source legend hides a source's curves in the charts, and 'show all' brings them back", { timeout: 60_000 }, async () => {
    const { page, problems } = await open();
    try {
      const marks = page.locator('svg [aria-label="classnames-cfg4"]');
      const others = page.locator('svg [aria-label="classnames-cfg2"]');
      // Shown marks, by computed style (a vertical CI rule has an empty bounding box, so Playwright's isVisible would not do).
      type Window = { getComputedStyle(e: unknown): { display: string } };
      const visible = (l: typeof marks) => l.evaluateAll((els) => els.filter((e) => (globalThis as unknown as Window).getComputedStyle(e).display !== 'none').length);
      const total = await marks.count();
      assert.ok(total >= 6, `classnames-cfg4 has marks in the charts (${total})`);
      assert.equal(await visible(marks), total);
      await page.locator('form.toggles label', { hasText: /^classnames-cfg4$/ }).click();
      assert.equal(await page.locator('form.toggles input#' + (await page.locator('form.toggles label', { hasText: /^classnames-cfg4$/ }).getAttribute('for'))).isChecked(), false);
      assert.equal(await visible(marks), 0, 'unchecked: every mark of classnames-cfg4 is hidden');
      assert.equal(await visible(others), await others.count(), 'the other sources stay');
      await page.locator('form.toggles input[type=reset]').click();
      assert.equal(await visible(marks), total, "'show all' shows it again");
      assert.deepEqual(problems(), []);
    } finally {
      await page.close();
    }
  });

  test('the Fits table reads at 800 px: it fits the width without scrolling sideways', { timeout: 60_000 }, async () => {
    const { page } = await open({ width: 800, height: 800 });
    try {
      const fits = page.locator('#fits ~ details[open]').first().locator('table').first();
      const width = await fits.evaluate((t) => t.getBoundingClientRect().width);
      const container = await fits.evaluate((t) => t.parentElement!.clientWidth);
      console.log(`[report-scale] Fits table at 800 px: ${Math.round(width)} px in ${container} px`);
      assert.ok(width <= container + 1, `the Fits table is ${width} px wide in a ${container} px column`);
      await fits.screenshot({ path: join(ARTIFACTS, 'report-paper-fits-800.png') });
    } finally {
      await page.close();
    }
  });
}
