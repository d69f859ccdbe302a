// The report at scale, without a browser: factors and same-image groups read from the paper spec,
// log-axis ticks (labels above 1 on a loss axis, a tick at the largest N), the small multiples and
// the slope-ratio heatmap, the source legend's CSS (escaped), tables folded per eval set, and the
// image digests that find sources with identical images in a real store.
// Run: node --import tsx --test test/activities/report/scale.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { toSvg, chartSpec } from '../../../activities/report/charts.js';
import { facetPlan, useFacets } from '../../../activities/report/facet-chart.js';
import { slopeRatioHeatmapSpec } from '../../../activities/report/heatmap.js';
import { toHtml } from '../../../activities/report/html.js';
import { sourceImageDigests } from '../../../activities/report/image-digest.js';
import { reportLayout } from '../../../activities/report/layout.js';
import { buildSampleSheets, sheetSources } from '../../../activities/report/samples.js';
import { renderReport } from '../../../activities/report/render.js';
import { logTicks, sizeTicks } from '../../../activities/report/ticks.js';
import type { SourceSummary } from '../../../contracts/types.js';
import { encodeGrayPng } from '../../../core/png.js';
import { MANIFEST_FORMAT, writeManifest, type SourceManifest } from '../../../core/shards/manifest.js';
import { packShard, sampleKey } from '../../../core/shards/webdataset.js';
import { openStore, type BlobStore } from '../../../core/storage.js';
import { paperFixture, type PaperFixture } from './paper-fixture.js';
import { assertSelfContained, CLASSES, sweepAnalysis } from './report-fixtures.js';

describe('log-axis ticks', () => {
  test('a loss axis over 1..3 gets labels above 1; a narrow one finer steps', () => {
    assert.deepEqual(logTicks(1, 3), [1, 1.5, 2, 3]);
    assert.deepEqual(logTicks(0.08, 0.95), [0.1, 0.2, 0.5]);
    assert.deepEqual(logTicks(1.1, 1.9), [1.2, 1.5]);
    const wide = logTicks(1e-4, 10);
    assert.ok(wide.length <= 8 && wide[0] === 1e-4, `${wide}`);
  });

  test('the N axis always labels the largest N, thinning the others so labels do not collide', () => {
    assert.deepEqual(sizeTicks([250, 500, 1000, 2000, 4000, 8000], 1.9), [250, 500, 1000, 2000, 4000, 8000]);
    assert.deepEqual(sizeTicks([250, 500, 1000, 2000, 4000, 8000], 3.5), [125 * 4, 2000, 8000]);
    assert.deepEqual(sizeTicks([100, 300, 1000, 3000, 10_000]), [100, 300, 1000, 3000, 10_000]);
  });

  test('the scaling chart of a small sweep labels its loss axis above 1 and the largest N', async () => {
    const svg = await toSvg(chartSpec(sweepAnalysis(), 'ticks'));
    const labels = [...svg.matchAll(/role-axis-label[\s\S]*?<\/g>/g)].flatMap((m) => [...m[0].matchAll(/>([^<>]+)<\/text>/g)].map((t) => t[1]!));
    assert.ok(labels.includes('3k'), `a tick at the largest N (3000): ${labels.join(' ')}`);
    assert.ok(labels.some((l) => Number(l) > 1 && Number(l) < 10), `a loss label above 1: ${labels.join(' ')}`);
    assert.ok(svg.includes('aria-label="synth-cfg4"'), "each source's marks carry its name (the legend toggles them)");
  });
});

describe('the paper spec at scale', () => {
  let f: PaperFixture;
  before(async () => {
    f = await paperFixture();
  });

  test('factors come from the spec; the weak generator ignores the prompt, so its strategies are grouped', () => {
    const layout = reportLayout(f.sources, f.spec, f.imageDigests);
    assert.deepEqual(layout.varying, ['generator', 'strategy', 'cfg']);
    assert.equal(layout.factors.get('classnames-cfg2')!.generator, 'default');
    assert.equal(layout.factors.get('classnames-cfg2-fit1k')!.generator, 'fitImages 1000');
    assert.match(layout.factors.get('weak-captions-cfg2')!.generator, /^pcaDims 8, componentsPerClass 1/);
    assert.deepEqual(
      layout.groups.map((g) => [g.label, g.note]),
      ['1-5', '2', '7-5'].map((cfg) => [`weak-classnames-cfg${cfg} = weak-clip-templates-cfg${cfg} = weak-captions-cfg${cfg}`, 'same images: the generator ignores the prompt']),
    );
    assert.equal(layout.label('weak-classnames-cfg2'), 'weak-classnames-cfg2 = weak-clip-templates-cfg2 = weak-captions-cfg2');
    assert.equal(layout.shown('weak-captions-cfg2'), false);
    assert.equal(layout.shown('captions-cfg2'), true);
    // Without digests nothing is grouped: the report never guesses sameness from results.
    assert.deepEqual(reportLayout(f.sources, f.spec).groups, []);
  });

  test('small multiples: a panel per generator x prompts, colour by CFG, references apart, a group drawn once', async () => {
    const layout = reportLayout(f.sources, f.spec, f.imageDigests);
    const clean = f.analysis.evalSets[0]!;
    assert.ok(useFacets(f.analysis, layout, clean));
    const plan = facetPlan(f.analysis, layout, clean);
    assert.equal(plan.colourFactor, 'cfg');
    assert.deepEqual(plan.panelFactors, ['generator', 'strategy']);
    assert.equal(plan.panels.length, 11, plan.panels.map((p) => p.title).join(' | '));
    // The learned family's panel is named by its preset.
    const neural = plan.panels.find((p) => p.title === 'generator neural-small · prompts classnames')!;
    assert.deepEqual(neural.curves.map((c) => c.source), ['neural-classnames-cfg1-5', 'neural-classnames-cfg2', 'neural-classnames-cfg7-5', 'real']);
    const weak = plan.panels.find((p) => p.title.startsWith('generator pcaDims 8'))!;
    assert.deepEqual(weak.same, ['clip-templates', 'captions']);
    assert.deepEqual(weak.curves.map((c) => c.source), ['weak-classnames-cfg1-5', 'weak-classnames-cfg2', 'weak-classnames-cfg7-5', 'real']);
    assert.equal(plan.panels.at(-1)!.title, 'real data and references');
    assert.deepEqual(plan.colourDomain.slice(0, 5), ['CFG 1', 'CFG 1.5', 'CFG 2', 'CFG 4', 'CFG 7.5']);
    const svg = await toSvg(chartSpec(f.analysis, f.spec.sweepId, undefined, layout));
    assert.ok(svg.includes('aria-label="classnames-cfg4"'));
    assert.ok(!svg.includes('aria-label="weak-captions-cfg2"'), "a group's other members are not drawn again");
    assert.ok(svg.includes('= clip-templates = captions (same images)'), 'the panel says which prompt strategies it also stands for');
    assert.ok(svg.length < 1_500_000, `the chart stays light: ${svg.length} bytes`);
  });

  test('the heatmap prints every ratio in its cell, one row per distinct source', async () => {
    const layout = reportLayout(f.sources, f.spec, f.imageDigests);
    const svg = await toSvg(slopeRatioHeatmapSpec(f.analysis, layout)!);
    const texts = [...svg.matchAll(/<g class="mark-text role-mark[\s\S]*?<\/g>/g)].flatMap((m) => [...m[0].matchAll(/>([^<>]+)<\/text>/g)].map((t) => t[1]!));
    const shown = f.analysis.comparisons.filter((c) => layout.shown(c.source));
    assert.equal(texts.length, shown.length);
    for (const c of shown.slice(0, 30)) assert.ok(texts.includes(c.errorSlopeRatio === null ? '—' : c.errorSlopeRatio.toFixed(2)));
    assert.ok(svg.includes('weak-classnames-cfg2 (+2 same)'));
  });

  test('the page: summary first, tables folded per eval set (the first open), legend checkboxes, still self-contained', async () => {
    const { html, markdown, slopeRatioSvg } = await renderReport(f.analysis, f.meta, { imageDigests: f.imageDigests });
    assertSelfContained(html);
    assert.ok(slopeRatioSvg);
    assert.ok(html.indexOf('<section class="summary" id="summary">') < html.indexOf('<nav>'), 'the summary comes before the contents');
    assert.match(markdown, /^## Summary$/m);
    const folded = html.match(/<details( open)?><summary>Eval set [^<]+<\/summary>/g) ?? [];
    assert.equal(folded.filter((d) => d.includes('open')).length, folded.length / 9, 'one open eval set per per-eval-set section');
    assert.equal((html.match(/<input type="checkbox" id="show-\d+" checked>/g) ?? []).length, 25, 'one checkbox per distinct source');
    assert.ok(html.includes('body:has(#show-1:not(:checked)) svg [aria-label="real"] { display: none; }'));
  });
});

describe('the source legend', () => {
  test("a source's name is escaped in the CSS and the page", () => {
    const name = 'x"] {} </style><script>alert(1)</script>';
    const html = toHtml([{ kind: 'toggles', label: 'Sources', groups: [{ title: 'all', sources: ['real', name] }] }], { title: 't', figures: new Map() });
    const style = html.slice(html.indexOf('<style>') + '<style>'.length, html.indexOf('</style>'));
    assert.ok(!style.includes('<') && style.includes('[aria-label="x\\22 \\5d  \\7b \\7d  \\3c \\2f style\\3e \\3c script\\3e alert\\28 1\\29 \\3c \\2f script\\3e "]'), style.slice(-200));
    assert.ok(!/<script/i.test(html));
    assert.ok(html.includes('<label for="show-2">x&quot;] {} &lt;/style&gt;&lt;script&gt;alert(1)&lt;/script&gt;</label>'));
    assert.ok(html.includes('<input type="reset" value="show all">'));
  });
});

describe('image digests', () => {
  let dir: string;
  let store: BlobStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'synthscale-report-digest-'));
    store = openStore(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A source of 30 images in 2 shards; `prompt` goes into each sample's metadata (and so into the shard checksums), `shade` into the pixels. */
  async function source(name: string, prompt: string, shade: number): Promise<SourceSummary> {
    const records: SourceManifest['shards'] = [];
    for (let s = 0; s < 2; s++) {
      const samples = Array.from({ length: 15 }, (_, i) => {
        const index = s * 15 + i;
        const pixels = new Uint8Array(28 * 28).fill((shade + index) % 256);
        return { key: sampleKey(index), png: encodeGrayPng(pixels, 28, 28), meta: { label: index % 10, className: CLASSES[index % 10]!, source: name, index, prompt: `${prompt} ${CLASSES[index % 10]}` } };
      });
      const put = await store.put(`${name}/shard-${s}.tar`, await packShard(samples));
      records.push({ uri: put.uri, sha256: put.sha256, bytes: put.size, samples: 15, firstIndex: s * 15, failedItems: [] });
    }
    const manifest: SourceManifest = { format: MANIFEST_FORMAT, source: name, kind: 'synthetic', description: name, classes: CLASSES, totalSamples: 30, shards: records };
    return { name, kind: 'synthetic', description: name, manifestUri: await writeManifest(store, `${name}/manifest.json`, manifest), images: 30 };
  }

  test('the same images under different prompts share a digest (their shards do not); other images do not', async () => {
    const a = await source('weak-classnames', 'a photo of a', 40);
    const b = await source('weak-captions', 'a caption about a', 40);
    const c = await source('classnames', 'a photo of a', 41);
    const missing: SourceSummary = { ...c, name: 'gone', manifestUri: store.uri('gone/manifest.json') };
    const seen: string[] = [];
    const { digests, problems } = await sourceImageDigests(store, [a, b, c, missing], { onSource: (s) => seen.push(s) });
    assert.deepEqual(seen, ['weak-classnames', 'weak-captions', 'classnames', 'gone']);
    assert.equal(digests['weak-classnames'], digests['weak-captions']);
    assert.notEqual(digests['weak-classnames'], digests.classnames);
    assert.equal(digests.gone, undefined);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^gone: images not compared/);
    // Only the first images count when capped: a cap below where two sources differ makes them equal.
    const capped = await sourceImageDigests(store, [a, c], { maxSamples: 0 });
    assert.equal(capped.digests['weak-classnames'], capped.digests.classnames);
    assert.deepEqual(sheetSources([a, b, c], digests).map((s) => s.name), ['weak-classnames', 'classnames'], 'one sample sheet per set of identical images');
    const { sheets } = await buildSampleSheets(store, [a, b, c], { imageDigests: digests, perClass: 2 });
    assert.deepEqual(sheets.map((s) => s.source), ['weak-classnames', 'classnames']);
    assert.match(sheets[0]!.caption, /same images as weak-captions$/);
    const layout = reportLayout([a, b, c], { sources: [a, b, c].map((s) => ({ name: s.name, kind: 'synthetic', prompts: { strategy: s.name }, cfgScale: 2 })) }, digests);
    assert.deepEqual(layout.groups.map((g) => g.label), ['weak-classnames = weak-captions']);
    assert.equal(layout.groups[0]!.note, 'same images: the generator ignores the prompt');
  });
});


