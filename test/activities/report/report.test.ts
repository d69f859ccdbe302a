import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSweep, type SweepAnalysis } from '../../../activities/analyze/analyze-sweep.js';
import { renderReport } from '../../../activities/report/render.js';
import { CURVES, makeCells, SEEDS, SOURCES, synthetic, type Curve } from '../analyze/analyze-fixtures.js';
import { assertSelfContained } from './report-fixtures.js';
import type { SourceSummary } from '../../../contracts/types.js';

/** Minimal XML well-formedness check: balanced, properly nested tags, and no stray '<' or bare '&' in text. */
function assertWellFormedXml(xml: string): string[] {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '').replace(/<!--[\s\S]*?-->/g, '');
  const tagRe = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'))?)*)\s*(\/?)>/g;
  const stack: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const m of body.matchAll(tagRe)) {
    const text = body.slice(last, m.index);
    assert.ok(!text.includes('<'), `stray '<' near: ${text.slice(0, 80)}`);
    assert.ok(!/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(text), `bare '&' in: ${text.slice(0, 80)}`);
    last = (m.index ?? 0) + m[0].length;
    const [, closing, name, , selfClosing] = m;
    if (!name) continue;
    names.push(name);
    if (closing) assert.equal(stack.pop(), name, `mismatched </${name}>`);
    else if (!selfClosing) stack.push(name);
  }
  assert.equal(body.slice(last).trim(), '', 'trailing content after the root element');
  assert.deepEqual(stack, [], 'unclosed tags');
  assert.equal(names[0], 'svg', 'root element is <svg>');
  return names;
}

describe('renderReport', () => {
  it('renders JSON, Markdown and a valid log-log SVG', async () => {
    const analysis = analyzeSweep(makeCells(CURVES), SOURCES);
    const meta = {
      sweepId: 'unit-sweep',
      spec: { sweepId: 'unit-sweep', dataset: 'fashion-mnist' },
      generatedAt: '2024-06-01T00:00:00.000Z',
      stageTimings: { generate: 12.5, train: 250 },
      cacheHits: 3,
      notes: ['a note'],
    };
    const { json, markdown, svg } = await renderReport(analysis, meta);

    const parsed = JSON.parse(json) as { meta: { sweepId: string }; analysis: SweepAnalysis };
    assert.equal(parsed.meta.sweepId, 'unit-sweep');
    assert.equal(parsed.analysis.curves.length, 3);

    assert.match(markdown, /^# Scaling report: unit-sweep/);
    for (const s of SOURCES) {
      assert.ok(markdown.includes(s.name), `markdown mentions ${s.name}`);
      assert.ok(markdown.includes(s.description), `markdown has the description of ${s.name}`);
    }
    for (const c of analysis.curves) {
      for (const m of [c.error, c.loss]) {
        assert.ok(m.fit);
        assert.ok(markdown.includes(m.fit.b.toFixed(3)), `markdown has ${c.source} ${m.metric} slope ${m.fit.b.toFixed(3)}`);
      }
    }
    assert.match(markdown, /unreliable/);
    assert.match(markdown, /0\.528/, "the paper's real ImageNet slope, for context");
    assert.match(markdown, /not comparable/);
    assert.match(markdown, /!\[scaling\]\(scaling\.svg\)/);
    assert.match(markdown, /^## (Time|Stage timings)$/m);
    assert.match(markdown, /4 min 10 s/);
    assert.match(markdown, /## Comparison to real data/);

    assert.ok(svg.includes('<svg'));
    const tags = assertWellFormedXml(svg);
    assert.ok(tags.includes('path') && tags.includes('text'));
    assert.ok(!/<(image|use|link|script|foreignObject)\b/.test(svg), 'no external or embedded resources');
    assert.ok(!/(href|url)\s*[=(]\s*["']?https?:/.test(svg), 'no external URLs');
    for (const s of SOURCES) assert.ok(svg.includes(`>${s.name}<`), `legend shows ${s.name}`);
    // Log-scale x axis: decade ticks labelled with SI prefixes.
    for (const tick of ['>100<', '>1k<', '>10k<']) assert.ok(svg.includes(tick), `x-axis tick ${tick}`);
    assert.match(svg, /Test loss vs N/);
    assert.match(svg, /Top-1 error vs N/);
    assert.match(svg, /no fit line: synth-cfg7 \(not monotone, does not decay\)/);
    assert.match(svg, /power-law fit/);
  });
});

describe('renderReport: findings first', () => {
  const scaled = (factor: number): Curve => (n) => ({ ...CURVES.real!(n), err: factor * CURVES.real!(n).err });
  const sources: SourceSummary[] = [
    SOURCES[0]!,
    synthetic('cfg1', { cfgScale: 1, generatorRealImages: 10000 }),
    synthetic('cfg2', { cfgScale: 2, generatorRealImages: 10000 }),
    synthetic('cfg7', { cfgScale: 7.5, generatorRealImages: 10000 }),
    { name: 'remote', kind: 'synthetic', description: 'a1111 server, CFG 7', cfgScale: 7, manifestUri: 'mem://r', images: 30000 },
    { name: 'control', kind: 'control', description: 'real through the generator', manifestUri: 'mem://c', images: 30000, generatorRealImages: 10000 },
    { name: 'mix', kind: 'mixed', description: 'real + cfg2', manifestUri: 'mem://real', images: 30000, mix: { real: 'real', synthetic: 'cfg2', syntheticPerReal: 1 } },
  ];
  const curves = { real: CURVES.real!, cfg1: scaled(1.3), cfg2: scaled(1.1), cfg7: scaled(1.5), remote: CURVES['synth-cfg2']!, control: scaled(1.05), mix: scaled(0.95) };
  const meta = { sweepId: 'findings-sweep', spec: {}, generatedAt: '2024-06-01T00:00:00.000Z' };

  it('leads with the findings, each linking to its evidence, then names the interval method', async () => {
    const analysis = analyzeSweep(makeCells(curves, SEEDS, 0.01), sources, { analysis: { bootstrapDraws: 300 }, seedDraws: 'data' });
    const { markdown, html } = await renderReport(analysis, meta);
    assert.deepEqual(markdown.match(/^## .+$/gm)!.slice(0, 3), ['## Summary', '## Findings', '## Method'], 'the one-screen summary, then Findings as the first section');
    for (const f of analysis.findings) assert.ok(markdown.includes(f.statement), f.claim);
    assert.match(markdown, /\| Classifier-free guidance .* \| \*\*supported\*\*: cfg1, cfg2, cfg7: accuracy peaks at CFG 2/);
    assert.match(markdown, /\*\*not testable with this sweep\*\*: no CLIP cells in this sweep/);
    assert.match(markdown, /\[Comparison to real data\]\(#comparison-to-real-data\)/);
    assert.match(markdown, /\[Accuracy against CFG\]\(#accuracy-against-cfg\)/);
    assert.match(markdown, /\[Mixing real and synthetic data\]\(#mixing-real-and-synthetic-data\)/);
    assert.ok(!markdown.includes('(#classifiers-vs-clip)'), 'no link to a section the report lacks');
    for (const id of ['comparison-to-real-data', 'accuracy-against-cfg', 'mixing-real-and-synthetic-data']) {
      assert.ok(html.includes(`<a href="#${id}">`) && html.includes(`<h2 id="${id}">`), id);
    }
    assertSelfContained(html);
    assert.ok(markdown.includes(analysis.settings.intervals) && /bootstrap of 300 draws/.test(markdown));
    assert.match(markdown, /How they are computed: \[Method\]\(#method\)\./);
    assert.match(markdown, /variance of drawing the data and of initialisation/);
    assert.match(markdown, /0\.\d{3} \[0\.\d{3}, 0\.\d{3}\]/, 'numbers with their intervals');
  });

  it('shows the real images each generator saw, and why a slope is withheld', async () => {
    const cells = makeCells(curves, SEEDS, 0.01, { sizes: [100, 300, 1000, 3000] });
    const { markdown } = await renderReport(analyzeSweep(cells, sources, { analysis: { bootstrapDraws: 200 } }), meta);
    const row = (name: string) => markdown.split('\n').find((l) => l.startsWith(`| ${name} | `) && l.includes('mem://') === false && /\| \d+ \|/.test(l))!;
    assert.match(markdown, /\| source \| kind \| description \| real images the generator saw \|/);
    assert.match(row('cfg1'), /\| synthetic \| .* \| 10000 \|/);
    assert.match(row('real'), /\| real \| .* \| - \|/);
    assert.match(row('remote'), /\| unknown \|/);
    assert.match(row('control'), /\| control \| .* \| 10000 \|/);
    assert.match(row('mix'), /\| mixed \| .* \| 10000 \|/, "a mix shows its synthetic part's generator");
    assert.match(markdown, /— \(withheld: too few N, N span too narrow\)/);
    assert.match(markdown, /only 4 distinct N \(the gate is 5\)/);
  });
});
