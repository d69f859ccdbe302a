// The visual report (activities/report/): report.html is one self-contained page that escapes
// every text from data, the scaling chart carries 95% CI bands, and the charts' PNG copies decode
// at 2x with their text drawn. The sample sheets and the report activity: samples.test.ts.
// Run: node --import tsx --test test/activities/report/html.test.ts
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { joinText, link, markdownOf, md } from '../../../activities/report/document.js';
import { chartSpec } from '../../../activities/report/charts.js';
import { escapeHtml, inlineHtml } from '../../../activities/report/html.js';
import { rasterizeSvg } from '../../../activities/report/raster.js';
import { renderReport } from '../../../activities/report/render.js';
import { assertSelfContained, greyPixels, HOSTILE, META, sweepAnalysis, sweepSources } from './report-fixtures.js';

describe('inline markup', () => {
  test('only literals of an md template carry markup; values are text', () => {
    assert.equal(inlineHtml(md`**${'a*b*'}** on \`${'<x>'}\``), '<strong>a*b*</strong> on <code>&lt;x&gt;</code>');
    assert.equal(inlineHtml('**not bold** `nor code`'), '**not bold** `nor code`');
    assert.equal(inlineHtml(md`(see *Fits*; * = extrapolated)`), '(see <em>Fits</em>; * = extrapolated)');
    assert.equal(inlineHtml(md`**open ${'end'}`), '<strong>open end</strong>', 'a tag left open is closed');
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
  });

  test('links to a section of the page, their text escaped and free of markup', () => {
    const text = joinText([md`**see**`, link(`*${HOSTILE}*`, 'fits')], ' ');
    assert.equal(inlineHtml(text), `<strong>see</strong> <a href="#fits">*${escapeHtml(HOSTILE)}*</a>`);
    assert.equal(markdownOf(joinText(['see', link('Fits [b]', 'fits')], ' ')), 'see [Fits \\[b\\]](#fits)');
    assert.throws(() => link('x', 'https://example.com'), /not a section id/);
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
    assert.ok(html.includes('<details><summary>Eval set ood-invert (shifted)</summary>'), 'the second eval set folded');
    assert.ok(html.includes('<details open><summary>Eval set test</summary>'), 'the first eval set open');
    // Every chart inline: the slope-ratio heatmap, the scaling plot, the recognizability bars, then the CFG trade-off.
    const svgs = html.match(/<svg\b[\s\S]*?<\/svg>/g) ?? [];
    assert.equal(svgs.length, 4);
    assert.ok(svgs[0]!.includes('Error slope ratio') && svgs[1]!.includes('Top-1 error vs N') && svgs[2]!.includes('Recognizability') && svgs[3]!.includes('CFG'));
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
