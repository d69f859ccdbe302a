import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CellMetrics, SourceSummary } from '../../../contracts/types.js';
import { analyzeSweep, type SweepAnalysis } from '../../../activities/analyze/analyze-sweep.js';
import { renderReport } from '../../../activities/report/render.js';

const SIZES = [100, 300, 1000, 3000, 10000, 30000];
const SEEDS = [0, 1, 2];

type Curve = (n: number) => { err: number; loss: number; ece: number };

const CURVES: Record<string, Curve> = {
  // Real data: steepest.
  real: (n) => ({ err: 2.2 * n ** -0.4, loss: 5 * n ** -0.4, ece: 0.02 + 0.3 * n ** -0.4 }),
  // Synthetic, well behaved: shallower.
  'synth-cfg2': (n) => ({ err: 0.9 * n ** -0.12, loss: 1.8 * n ** -0.1, ece: 0.05 + 0.2 * n ** -0.3 }),
  // Synthetic, the pitfall: error falls with N but the loss on real test data rises (over-confidence).
  'synth-cfg7': (n) => ({ err: 0.8 * n ** -0.1, loss: 0.85 + 0.07 * Math.log(n / 100), ece: 0.08 + 0.03 * Math.log(n / 100) }),
};

const SOURCES: SourceSummary[] = [
  { name: 'real', kind: 'real', description: 'Fashion-MNIST train split', manifestUri: 'mem://real', images: 30000 },
  {
    name: 'synth-cfg2',
    kind: 'synthetic',
    description: 'embedded-gmm, classnames, CFG 2',
    cfgScale: 2,
    promptStrategy: 'classnames',
    manifestUri: 'mem://s2',
    images: 30000,
    generationSeconds: 400,
  },
  {
    name: 'synth-cfg7',
    kind: 'synthetic',
    description: 'embedded-gmm, clip-templates, CFG 7.5',
    cfgScale: 7.5,
    promptStrategy: 'clip-templates',
    manifestUri: 'mem://s7',
    images: 30000,
  },
];

function makeCells(curves: Record<string, Curve>, seeds = SEEDS, noise = 0.01): CellMetrics[] {
  let s = 42;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
  const cells: CellMetrics[] = [];
  for (const [source, f] of Object.entries(curves)) {
    for (const size of SIZES) {
      for (const seed of seeds) {
        const v = f(size);
        const accuracy = 1 - v.err * (1 + noise * rnd());
        cells.push({
          source,
          size,
          seed,
          evalSet: 'test',
          loss: v.loss * (1 + noise * rnd()),
          accuracy,
          ece: v.ece,
          perClassAccuracy: [accuracy],
          trainSteps: 200,
          trainSeconds: 1,
          resultUri: `mem://${source}/${size}/${seed}`,
        });
      }
    }
  }
  return cells;
}

function curve(a: SweepAnalysis, source: string) {
  const c = a.curves.find((x) => x.source === source && x.evalSet === 'test');
  assert.ok(c, `curve for ${source}`);
  return c;
}

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

describe('analyzeSweep', () => {
  const analysis = analyzeSweep(makeCells(CURVES), SOURCES);

  it('aggregates per N over seeds', () => {
    const real = curve(analysis, 'real');
    assert.deepEqual(
      real.perN.map((p) => p.n),
      SIZES,
    );
    for (const p of real.perN) {
      assert.equal(p.seeds, 3);
      assert.ok(p.accuracy.lo < p.accuracy.mean && p.accuracy.mean < p.accuracy.hi);
      assert.ok(Math.abs(p.error.mean - (1 - p.accuracy.mean)) < 1e-12);
      assert.ok(Math.abs(p.error.halfWidth - p.accuracy.halfWidth) < 1e-12);
    }
    assert.deepEqual(analysis.sizes, SIZES);
    assert.deepEqual(analysis.seeds, SEEDS);
    assert.equal(analysis.cellCount, 3 * SIZES.length * SEEDS.length);
  });

  it('effective real-data equivalent inverts the real fit at the source\'s mean', () => {
    // A source whose error at N equals real data's error at N/4 is worth N/4 real images.
    const quarter = analyzeSweep(makeCells({ real: CURVES.real!, quarter: (n) => CURVES.real!(n / 4) }, SEEDS, 0), [
      SOURCES[0]!,
      { name: 'quarter', kind: 'synthetic', description: 'q', manifestUri: 'mem://q', images: 30000 },
    ]);
    const comparison = quarter.comparisons.find((c) => c.source === 'quarter')!;
    for (const e of comparison.effectiveRealN) {
      assert.ok(Math.abs(e.byError! / (e.n / 4) - 1) < 1e-6, `N=${e.n}: ${e.byError}`);
      assert.ok(Math.abs(e.byLoss! / (e.n / 4) - 1) < 1e-6, `N=${e.n}: ${e.byLoss}`);
      assert.equal(e.extrapolated, e.n / 4 < SIZES[0]!, `N=${e.n}`);
    }
    // A shallower synthetic curve is worth fewer real images than its own N.
    const cfg7 = analysis.comparisons.find((c) => c.source === 'synth-cfg7')!;
    assert.ok(cfg7.effectiveRealN.every((e) => e.byError !== null && e.byError < e.n), 'synthetic is worth fewer real images');
  });

  it('flags a rising-loss curve as unreliable while its error fit is fine', () => {
    const c = curve(analysis, 'synth-cfg7');
    assert.equal(c.lossMonotone, false);
    assert.equal(c.loss.unreliable, true);
    assert.equal(c.loss.scalingSlope, null);
    assert.match(c.loss.reason ?? '', /not monotone/);
    assert.ok(c.loss.fit, 'the loss fit is kept for inspection');
    assert.equal(c.loss.fit.unreliable, true);
    assert.ok(c.loss.fit.b < 0, 'a rising loss gives a negative exponent');
    assert.ok(c.loss.violations.length > 0);

    assert.equal(c.errorMonotone, true);
    assert.equal(c.error.unreliable, false);
    assert.ok(c.error.scalingSlope !== null && Math.abs(c.error.scalingSlope - 0.1) < 0.02, `error slope ${c.error.scalingSlope}`);
    assert.ok(c.error.fit && c.error.fit.r2 > 0.9);
    assert.ok(c.warnings.some((w) => /over-confident/.test(w)));
  });

  it('reports headline slopes for monotone curves and compares to real', () => {
    const real = curve(analysis, 'real');
    assert.equal(real.loss.unreliable, false);
    assert.ok(real.error.scalingSlope !== null && Math.abs(real.error.scalingSlope - 0.4) < 0.02);
    assert.ok(real.loss.scalingSlope !== null && Math.abs(real.loss.scalingSlope - 0.4) < 0.02);
    assert.equal(analysis.realSource, 'real');
    assert.equal(analysis.comparisons.length, 2);
    const s2 = analysis.comparisons.find((c) => c.source === 'synth-cfg2');
    const s7 = analysis.comparisons.find((c) => c.source === 'synth-cfg7');
    assert.ok(s2 && s7);
    assert.ok(s2.errorSlopeRatio !== null && Math.abs(s2.errorSlopeRatio - 0.3) < 0.06, `ratio ${s2.errorSlopeRatio}`);
    assert.ok(s2.lossSlopeRatio !== null && s2.lossSlopeRatio < 1);
    assert.ok(s7.errorSlopeRatio !== null && s7.errorSlopeRatio < 1);
    assert.equal(s7.lossSlopeRatio, null);
    assert.ok(s7.notes.some((n) => /no reliable loss slope/.test(n)));
    assert.deepEqual(
      s2.accuracyGap.map((g) => g.n),
      SIZES,
    );
    for (const g of s2.accuracyGap) {
      assert.ok(g.gap < 0, 'synthetic is behind real');
      assert.ok(Math.abs(g.gap - (g.accuracy - g.realAccuracy)) < 1e-12);
    }
  });

  it('is plain JSON', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(analysis)), analysis);
    assert.ok(JSON.stringify(analysis).length < 200_000);
  });

  it('handles no real source, single seeds, unknown sources and duplicates', () => {
    const cells = makeCells({ 'synth-cfg2': CURVES['synth-cfg2']!, mystery: CURVES.real! }, [0]);
    cells.push({ ...cells[0]! });
    const a = analyzeSweep(cells, SOURCES.slice(1, 2));
    assert.equal(a.realSource, null);
    assert.deepEqual(a.comparisons, []);
    assert.equal(curve(a, 'mystery').kind, 'unknown');
    assert.ok(a.warnings.some((w) => /duplicate/.test(w)));
    assert.ok(a.warnings.some((w) => /no real source/.test(w)));
    const c = curve(a, 'synth-cfg2');
    assert.ok(c.perN.every((p) => p.seeds === 1 && p.accuracy.degenerate));
    assert.ok(c.error.scalingSlope !== null);
  });
});

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
    assert.match(markdown, /## Stage timings/);
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
    assert.match(svg, /no fit line: synth-cfg7 \(not monotone\)/);
    assert.match(svg, /power-law fit/);
  });
});
