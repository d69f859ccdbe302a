// The visual report (activities/report/): report.html is one self-contained page that escapes
// every text from data, the scaling chart carries 95% CI bands, the charts' PNG copies decode at
// 2x with their text drawn, and the sample sheets show each source's first images per class,
// read from real shards in a temporary FileStore with a bounded number of shard reads.
// Run: node --import tsx --test test/report-html.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import sharp from 'sharp';
import { analyzeSweep, type SweepAnalysis } from '../../../activities/analyze/analyze-sweep.js';
import { md } from '../../../activities/report/document.js';
import { chartSpec } from '../../../activities/report/charts.js';
import { escapeHtml, inlineHtml } from '../../../activities/report/html.js';
import { rasterizeSvg } from '../../../activities/report/raster.js';
import { renderReport, type ReportMeta } from '../../../activities/report/render.js';
import { buildSampleSheets, sheetLayout, sheetSources } from '../../../activities/report/samples.js';
import { createReportActivities, type RenderReportOutput } from '../../../activities/report/activity.js';
import { MANIFEST_FORMAT, writeManifest, type SourceManifest } from '../../../core/shards/manifest.js';
import { packShard, sampleKey } from '../../../core/shards/webdataset.js';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';
import { encodeGrayPng } from '../../../core/png.js';
import { openStore, putJson, type BlobStore } from '../../../core/storage.js';
import type { CellMetrics, SourceSummary } from '../../../contracts/types.js';
import type { SweepStats } from '../../../contracts/sweep.js';

const HOSTILE = '<img src=x onerror=alert(1)>';
const CLASSES = [...FASHION_MNIST_CLASSES];
const SIZES = [100, 300, 1000, 3000];
const SEEDS = [0, 1];

function synthetic(name: string, cfgScale: number, extra: Partial<SourceSummary> = {}): SourceSummary {
  return { name, kind: 'synthetic', description: `embedded-gmm, classnames, CFG ${cfgScale}`, cfgScale, promptStrategy: 'classnames', manifestUri: `mem://${name}`, images: 3000, ...extra };
}

/** Six sources: real and five synthetic ones, one with a hostile description, one with a hostile prompt provenance. */
function sweepSources(): SourceSummary[] {
  return [
    { name: 'real', kind: 'real', description: 'Fashion-MNIST train split', manifestUri: 'mem://real', images: 3000 },
    synthetic('synth-cfg1', 1, { description: `embedded-gmm ${HOSTILE} | **not bold**` }),
    synthetic('synth-cfg2', 2, { promptProvenance: `word2sentence: ${HOSTILE} "q" & 'a' \`x\`` }),
    synthetic('synth-cfg4', 4),
    synthetic('synth-cfg8', 8),
    synthetic('synth-cfg12', 12),
  ];
}

/** Power-law curves with seed noise (two seeds: wide t intervals) on a clean and an OOD eval set. */
function sweepCells(sources: readonly SourceSummary[]): CellMetrics[] {
  let state = 7;
  const noise = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.08;
  return sources.flatMap((source, s) =>
    ['test', 'ood-invert'].flatMap((evalSet) =>
      SIZES.flatMap((size) =>
        SEEDS.map((seed) => {
          const b = (s === 0 ? 0.4 : 0.1 + s / 30) * (evalSet === 'test' ? 1 : 0.6);
          const error = Math.min(0.95, 1.5 * size ** -b) * (1 + noise());
          return {
            source: source.name,
            size,
            seed,
            evalSet,
            loss: 3 * size ** -b * (1 + noise()),
            accuracy: 1 - error,
            ece: 0.05,
            perClassAccuracy: CLASSES.map((_, k) => 1 - error * (0.5 + k / 10)),
            trainSteps: 1,
            trainSeconds: 1,
            resultUri: 'mem://cell',
          };
        }),
      ),
    ),
  );
}

function sweepAnalysis(sources = sweepSources()): SweepAnalysis {
  return analyzeSweep(sweepCells(sources), sources, {
    recognizability: ['synth-cfg1', 'synth-cfg2'].map((source, j) => ({
      source,
      overall: 0.6,
      judgeTestAccuracy: 0.85,
      classes: CLASSES,
      perClass: CLASSES.map((_, k) => ((k * 7 + j * 3) % 10) / 10),
    })),
  });
}

const META: ReportMeta = {
  sweepId: 'html-sweep',
  spec: { sweepId: 'html-sweep', dataset: 'fashion-mnist', note: HOSTILE },
  generatedAt: '2024-06-01T00:00:00.000Z',
  stageTimings: { generate: 12.5, train: 250 },
  cacheHits: 3,
  notes: [`note with ${HOSTILE}`],
};

/** Every start tag with its attribute names (text is escaped, so each '<' left starts a real tag). */
function tags(html: string): { name: string; attributes: string[]; raw: string }[] {
  return [...html.matchAll(/<([a-zA-Z][\w:-]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*\/?>/g)].map((m) => ({
    name: m[1]!.toLowerCase(),
    attributes: [...m[2]!.matchAll(/\s+([^\s=>/]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?/g)].map((a) => a[1]!.toLowerCase()),
    raw: m[0],
  }));
}

const HTML_TAGS = 'html head meta title style body h1 h2 h3 p ul ol li nav a strong em code pre div table thead tbody tr th td figure figcaption img details summary';
const SVG_TAGS = 'svg g path rect line text tspan';
const ALLOWED_TAGS = new Set(`${HTML_TAGS} ${SVG_TAGS}`.split(' '));

function assertSelfContained(html: string): void {
  assert.ok(!/<script\b/i.test(html), 'no <script>');
  assert.ok(!/(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i.test(html), 'no src/href to http(s) or protocol-relative URLs');
  assert.ok(!/url\(\s*["']?\s*(?:https?:)?\/\//i.test(html), 'no CSS url() to the network');
  assert.ok(!/@import/i.test(html), 'no CSS @import');
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">/);
  for (const tag of tags(html)) {
    assert.ok(ALLOWED_TAGS.has(tag.name), `unexpected <${tag.name}>`);
    assert.ok(!tag.attributes.some((a) => a.startsWith('on')), `event handler attribute in ${tag.raw.slice(0, 120)}`);
    if (tag.name === 'img') assert.match(tag.raw, /src="data:image\/png;base64,[A-Za-z0-9+/=]+"/, 'images are embedded PNGs');
    if (tag.name === 'a') assert.match(tag.raw, /href="#[a-z0-9-]+"/, 'links only to the page itself');
  }
}

/** The rows of a grey (or RGB) PNG as luminance, for pixel checks. */
async function greyPixels(png: Uint8Array): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 1);
  return { data, width: info.width, height: info.height };
}

describe('inline markup', () => {
  test('only literals of an md template carry markup; values are text', () => {
    assert.equal(inlineHtml(md`**${'a*b*'}** on \`${'<x>'}\``), '<strong>a*b*</strong> on <code>&lt;x&gt;</code>');
    assert.equal(inlineHtml('**not bold** `nor code`'), '**not bold** `nor code`');
    assert.equal(inlineHtml(md`(see *Fits*; * = extrapolated)`), '(see <em>Fits</em>; * = extrapolated)');
    assert.equal(inlineHtml(md`**open ${'end'}`), '<strong>open end</strong>', 'a tag left open is closed');
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
  });
});

describe('renderReport: HTML and PNGs', () => {
  let rendered: Awaited<ReturnType<typeof renderReport>>;
  before(async () => {
    rendered = await renderReport(sweepAnalysis(), META);
  });

  test('report.html is self-contained and escapes descriptions, prompts, notes and the spec', () => {
    const { html } = rendered;
    assert.match(html, /^<!DOCTYPE html>/);
    assertSelfContained(html);
    assert.ok(!html.includes(HOSTILE), 'the hostile text never appears unescaped');
    assert.ok(html.includes(`embedded-gmm ${escapeHtml(HOSTILE)} | **not bold**`), 'description shown as text, markup characters included');
    assert.ok(html.includes(`word2sentence: ${escapeHtml(HOSTILE)} &quot;q&quot; &amp; &#39;a&#39; \`x\``), 'prompt provenance shown as text');
    assert.ok(html.includes(`note with ${escapeHtml(HOSTILE)}`));
    assert.ok(html.includes(`&quot;note&quot;: &quot;${escapeHtml(HOSTILE)}&quot;`), 'the spec listing is escaped');
  });

  test('report.html has what report.md has: sections, tables, figures', () => {
    const { html, markdown } = rendered;
    for (const section of markdown.match(/^## .+$/gm)!) {
      assert.ok(html.includes(`>${escapeHtml(section.slice(3).replace(/`/g, ''))}</h2>`), `section ${section}`);
    }
    for (const section of ['Headline', 'Figure', 'Sources', 'Out-of-distribution evaluation', 'Recognizability', 'Notes']) {
      assert.match(markdown, new RegExp(`^## ${section}`, 'm'));
    }
    assert.equal((html.match(/<table>/g) ?? []).length, (markdown.match(/^\|---/gm) ?? []).length, 'one HTML table per Markdown table');
    assert.ok(html.includes('<p><strong>Caveat.</strong> These are') && html.includes('<strong>Measuring pitfall.</strong>'), 'inline markup becomes tags');
    assert.ok(html.includes('<h3>Eval set <code>ood-invert</code></h3>'));
    // Both charts inline: the scaling plot, then the recognizability bars.
    const svgs = html.match(/<svg\b[\s\S]*?<\/svg>/g) ?? [];
    assert.equal(svgs.length, 2);
    assert.ok(svgs[0]!.includes('Top-1 error vs N') && svgs[1]!.includes('Recognizability'));
    assert.ok(!html.includes('<?xml'), 'no XML prolog inside the page');
    assert.ok(!/\sid="/.test(svgs.join('')), 'charts carry no ids that could collide in one page');
    // Markdown links the PNG copies next to the SVGs.
    assert.match(markdown, /!\[scaling\]\(scaling\.svg\)\n\nPNG \(2x, for papers and READMEs\): \[scaling\.png\]\(scaling\.png\)/);
    assert.match(markdown, /\[recognizability\.png\]\(recognizability\.png\)/);
  });

  test('the scaling chart draws 95% CI bands (Vega-Lite area layer from lo to hi) beside error bars and fit lines', () => {
    const { svg, html } = rendered;
    const bands = svg.match(/<g class="mark-area role-mark ci_band_\w+_marks"[^>]*>([\s\S]*?)<\/g>/g) ?? [];
    // 6 sources x 2 metrics x 2 eval sets.
    assert.equal(bands.length, 24);
    assert.ok(bands.every((g) => /<path [^>]*d="M[^"]+Z"/.test(g)), 'each band is a closed area path');
    assert.ok(bands.every((g) => /fill-opacity="0\.14"/.test(g)), 'bands are translucent');
    assert.ok(svg.includes('mark-rule role-mark'), 'error bars stay');
    assert.match(svg, /power-law fit/);
    assert.match(svg, /shaded bands and bars: 95% CI over seeds/);
    assert.ok(html.includes('ci_band_loss_'), 'the page inlines the same chart');
  });

  test('every panel draws its own bands: layer names are unique across the concat, and each band reads its panel\'s metric', () => {
    type Layer = { name?: string; data: { values: { lo: number; hi: number; y: number }[] } };
    type Panel = { title: { text: string }; layer: Layer[] };
    const spec = chartSpec(sweepAnalysis(), 'x') as unknown as { vconcat: { hconcat: Panel[] }[] };
    const panels = spec.vconcat.flatMap((row) => row.hconcat);
    const names = panels.flatMap((p) => p.layer.map((l) => l.name).filter((n): n is string => n !== undefined));
    // Vega-Lite merges same-named layers of a concat into one mark: the loss panel then drew the error panel's bands.
    assert.equal(new Set(names).size, names.length, `layer names repeat: ${names.join(', ')}`);
    for (const panel of panels) {
      const band = panel.layer.find((l) => l.name?.startsWith('ci_band_'))!;
      const points = panel.layer.at(3)!;
      assert.deepEqual(band.data.values.map((r) => r.y), points.data.values.map((r) => r.y), `${panel.title.text}: band rows are the panel's means`);
    }
  });

  test('PNG copies decode at 2x the SVG size and have their text drawn', async () => {
    const size = (svg: string) => {
      const [, w, h] = /<svg[^>]*width="(\d+(?:\.\d+)?)"[^>]*height="(\d+(?:\.\d+)?)"/.exec(svg)!;
      return { width: Number(w), height: Number(h) };
    };
    for (const [svg, png] of [
      [rendered.svg, rendered.png],
      [rendered.recognizabilitySvg!, rendered.recognizabilityPng!],
    ] as const) {
      const meta = await sharp(png.png).metadata();
      assert.equal(meta.format, 'png');
      assert.equal(meta.width, png.width);
      assert.equal(meta.height, png.height);
      assert.ok(Math.abs(png.width - 2 * size(svg).width) <= 1 && Math.abs(png.height - 2 * size(svg).height) <= 1, `${png.width}x${png.height} is 2x the SVG`);
      assert.ok(png.png.byteLength < 4 * 2 ** 20, `PNG of ${png.png.byteLength} bytes`);
    }
    // Fonts: the chart title's strip is blank without the <text> elements and inked with them.
    const withText = await greyPixels(rendered.png.png);
    const withoutText = await greyPixels((await rasterizeSvg(rendered.svg.replace(/<text\b[\s\S]*?<\/text>/g, ''))).png);
    const titleStrip = (img: { data: Buffer; width: number }) => {
      let dark = 0;
      for (let y = 0; y < 60; y++) for (let x = 0; x < img.width / 2; x++) if (img.data[y * img.width + x]! < 128) dark++;
      return dark;
    };
    assert.equal(titleStrip(withoutText), 0);
    assert.ok(titleStrip(withText) > 500, `title glyphs: ${titleStrip(withText)} dark pixels`);
  });

  test('rasterizing is size-bounded', async () => {
    const big = await rasterizeSvg(rendered.svg, { maxSide: 600 });
    assert.ok(big.width <= 600 && big.height <= 600, `${big.width}x${big.height}`);
    const few = await rasterizeSvg(rendered.svg, { maxPixels: 200_000 });
    assert.ok(few.width * few.height <= 200_000 * 1.01, `${few.width}x${few.height}`);
  });

  test('a hostile source name is escaped in the chart and the page too', async () => {
    // The spec only allows [a-z0-9-] names; the renderer must not rely on it.
    const sources = sweepSources().slice(0, 2);
    sources[1] = { ...sources[1]!, name: HOSTILE };
    const { html, svg } = await renderReport(sweepAnalysis(sources), META);
    assert.ok(!svg.includes(HOSTILE) && !html.includes(HOSTILE));
    assertSelfContained(html);
  });
});

// ---------------------------------------------------------------------------------------------
// Sample sheets from real shards

/** A sample's pixels: a flat grey per (source, class), with pixel (0, 0) saying which of its class it is. */
function samplePixels(base: number, label: number, occurrence: number): Uint8Array {
  const pixels = new Uint8Array(784).fill(base + label * 10);
  pixels[0] = occurrence * 25;
  return pixels;
}

/** Shards of `shardSize` samples, labels cycling through `labels`, under `<source>/`. */
async function writeSource(store: BlobStore, source: string, kind: 'real' | 'synthetic', base: number, shards: number, shardSize: number, labels = 10): Promise<string> {
  const records: SourceManifest['shards'] = [];
  for (let s = 0; s < shards; s++) {
    const samples = Array.from({ length: shardSize }, (_, i) => {
      const index = s * shardSize + i;
      const label = index % labels;
      return { key: sampleKey(index), png: encodeGrayPng(samplePixels(base, label, Math.floor(index / labels)), 28, 28), meta: { label, className: CLASSES[label]!, source, index, prompt: `a photo of a ${CLASSES[label]}` } };
    });
    const put = await store.put(`${source}/shard-${s}.tar`, await packShard(samples));
    records.push({ uri: put.uri, sha256: put.sha256, bytes: put.size, samples: shardSize, firstIndex: s * shardSize, failedItems: [] });
  }
  const manifest: SourceManifest = { format: MANIFEST_FORMAT, source, kind, description: source, classes: CLASSES, totalSamples: shards * shardSize, shards: records };
  return writeManifest(store, `${source}/manifest.json`, manifest);
}

/** A store that counts the shard reads. */
function countingStore(store: BlobStore): { store: BlobStore; shardReads: string[] } {
  const shardReads: string[] = [];
  const counting = Object.create(store) as BlobStore;
  counting.get = (key, opts) => {
    if (key.endsWith('.tar')) shardReads.push(key);
    return store.get(key, opts);
  };
  return { store: counting, shardReads };
}

describe('sample sheets', () => {
  let dir: string;
  let store: BlobStore;
  const BASES: Record<string, number> = { real: 20, 'synth-cfg1': 130 };
  let sources: SourceSummary[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'synthscale-report-html-'));
    store = openStore(dir);
    sources = [
      { ...synthetic('synth-cfg1', 1), manifestUri: await writeSource(store, 'synth-cfg1', 'synthetic', BASES['synth-cfg1']!, 5, 20) },
      { name: 'real', kind: 'real', description: 'real', manifestUri: await writeSource(store, 'real', 'real', BASES.real!, 5, 20), images: 100 },
      // A mixed source reuses the real manifest: no sheet of its own.
      { name: 'mix', kind: 'mixed', description: 'mix', manifestUri: '', images: 200 },
    ];
    sources[2]!.manifestUri = sources[1]!.manifestUri;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('rows are classes, columns the first K images of that class from the right source, real first', async () => {
    const { store: counting, shardReads } = countingStore(store);
    const { sheets, problems } = await buildSampleSheets(counting, sources, { perClass: 3, scale: 2 });
    assert.deepEqual(problems, []);
    assert.deepEqual(sheets.map((s) => s.source), ['real', 'synth-cfg1']);
    assert.deepEqual(sheets.map((s) => s.file), ['samples-real.png', 'samples-synth-cfg1.png']);
    // K = 3 per class needs the first 30 samples: two shards of 20 per source, not all five.
    assert.equal(shardReads.length, 4, shardReads.join(', '));
    const layout = sheetLayout(10, 3, 2);
    for (const sheet of sheets) {
      assert.deepEqual(sheet.classes, CLASSES);
      assert.deepEqual(sheet.shown, CLASSES.map(() => 3));
      const { data, width, height } = await greyPixels(sheet.image.png);
      assert.deepEqual([width, height], [layout.width, layout.height]);
      assert.deepEqual([sheet.image.width, sheet.image.height], [layout.width, layout.height]);
      for (let row = 0; row < 10; row++) {
        for (let column = 0; column < 3; column++) {
          const { left, top } = layout.origin(row, column);
          const at = (x: number, y: number) => data[(top + y) * width + left + x]!;
          // The body shows the source's grey for this class; the marker pixel (0, 0), scaled to 2x2, is the column-th of the class.
          assert.ok(Math.abs(at(30, 30) - (BASES[sheet.source]! + row * 10)) <= 1, `${sheet.source} row ${row} col ${column}: ${at(30, 30)}`);
          assert.ok(Math.abs(at(1, 1) - column * 25) <= 1, `${sheet.source} row ${row} col ${column} is sample ${at(1, 1) / 25} of its class`);
        }
      }
      // Class labels and the title are drawn left of and above the images.
      let ink = 0;
      for (let y = 0; y < height; y++) for (let x = 0; x < layout.origin(0, 0).left - 4; x++) if (data[y * width + x]! < 100) ink++;
      assert.ok(ink > 300, `${sheet.source}: ${ink} dark label pixels`);
    }
  });

  test('reading stops at the sample budget when a class never comes; unreadable sources are reported, not fatal', async () => {
    const sevenClasses = await writeSource(store, 'synth-cfg2', 'synthetic', 100, 6, 20, 7);
    const { store: counting, shardReads } = countingStore(store);
    const { sheets, problems } = await buildSampleSheets(
      counting,
      [
        { ...synthetic('synth-cfg2', 2), manifestUri: sevenClasses },
        { ...synthetic('gone', 3), manifestUri: store.uri('gone/manifest.json') },
      ],
      { perClass: 2, scale: 1, maxSamples: 50 },
    );
    assert.equal(shardReads.length, 3, '3 shards of 20 reach the budget of 50; 3 more are never read');
    assert.deepEqual(sheets[0]!.shown, [2, 2, 2, 2, 2, 2, 2, 0, 0, 0]);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^gone: no sample sheet \(.*does not exist/);
    assert.deepEqual(sheetSources(sources).map((s) => s.name), ['real', 'synth-cfg1']);
  });

  test('the report activity stores report.html, the PNGs and the sheets, and returns their URIs', async (t) => {
    // Six sources x 4 N x 2 seeds on two eval sets, each source with real shards to draw from.
    const all = sweepSources();
    for (const [i, source] of all.entries()) source.manifestUri = await writeSource(store, `act-${source.name}`, source.kind === 'real' ? 'real' : 'synthetic', 10 + i * 20, 2, 100);
    const analysis = sweepAnalysis(all);
    const analysisUri = (await putJson(store, 'analysis/html-sweep.json', { sweepId: 'html-sweep', cells: [], sources: all, analysis })).uri;
    const stats: SweepStats = {
      imagesSampled: 0, shardsCached: 0, activityRetries: 0, itemRetries: 0, storageRetries: 0, failedItems: 0, corruptRegenerated: 0,
      cellsDone: 96, cellsCached: 0, cellsTotal: 96, trainStepsRun: 10, cellActivityRetries: 0, runs: 1,
    };
    const activities = createReportActivities({ store, dataDir: dir });
    const env = new MockActivityEnvironment();
    const started = performance.now();
    const out: RenderReportOutput = await env.run(activities.renderSweepReport, { sweepId: 'html-sweep', workflowId: 'sweep-html-sweep', analysisUri, spec: META.spec, stageSeconds: { train: 10 }, stats });
    const seconds = (performance.now() - started) / 1000;

    const path = (uri: string | undefined) => fileURLToPath(uri!);
    assert.match(out.reportHtmlUri!, /\/report\.html$/);
    assert.equal(path(out.reportHtmlUri).replace(/report\.html$/, 'report.md'), path(out.reportMarkdownUri), 'report.html sits next to report.md');
    const html = await readFile(path(out.reportHtmlUri), 'utf8');
    assertSelfContained(html);
    assert.ok(!html.includes(HOSTILE));
    assert.deepEqual(Object.keys(out.sampleSheetUris!), all.map((s) => s.name));
    for (const uri of [out.plotPngUri, out.recognizabilityPngUri, ...Object.values(out.sampleSheetUris!)]) {
      const meta = await sharp(await readFile(path(uri))).metadata();
      assert.equal(meta.format, 'png', uri);
    }
    // Every sheet is embedded in the page, and linked from the Markdown.
    const markdown = await readFile(path(out.reportMarkdownUri), 'utf8');
    assert.equal((html.match(/<img src="data:image\/png;base64,/g) ?? []).length, all.length);
    for (const source of all) assert.ok(markdown.includes(`(samples-${source.name}.png)`), `report.md links samples-${source.name}.png`);
    const json = JSON.parse(await readFile(path(out.reportJsonUri), 'utf8'));
    assert.equal(json.analysis.curves.length, analysis.curves.length, 'report.json as before');

    const htmlBytes = Buffer.byteLength(html);
    t.diagnostic(`report activity, 6 sources x 4 N x 2 seeds x 2 eval sets + 6 sample sheets: ${seconds.toFixed(2)} s; report.html ${(htmlBytes / 1024).toFixed(0)} KiB`);
    assert.ok(htmlBytes < 4 * 2 ** 20, `report.html is ${htmlBytes} bytes`);
  });
});
