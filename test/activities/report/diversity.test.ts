// The diversity table and the CFG trade-off figure (activities/report/sections-diversity.ts,
// diversity-chart.ts) on the report fixtures' sweep, with diversity attached to its recognizability.
// Run: node --import tsx --test test/activities/report/diversity.test.ts
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SweepAnalysis } from '../../../contracts/analysis.js';
import type { DiversityMetrics } from '../../../core/stats/diversity.js';
import { accuracyAt, cfgGroups, DIVERSITY_FIGURE, diversityChartSpec, renderDiversitySvg, tradeoffRows } from '../../../activities/report/diversity-chart.js';
import { diversitySections } from '../../../activities/report/sections-diversity.js';
import { toMarkdown } from '../../../activities/report/document.js';
import { CLASSES, sweepAnalysis, sweepSources } from './report-fixtures.js';

const metrics = (cfg: number): DiversityMetrics => ({
  precision: 0.5 + cfg / 40,
  recall: 0.9 - cfg / 20,
  density: 0.8,
  coverage: 0.8 - cfg / 30,
  frechet: 10 + cfg,
  vendi: 40 / cfg,
  realVendi: 50,
  images: 2000,
  realImages: 2000,
});

/** The fixture sweep with recognizability and diversity for the four sources that share a description. */
function analysisWithDiversity(): SweepAnalysis {
  const a = sweepAnalysis();
  const recognizability = [2, 4, 8, 12].map((cfg) => ({
    source: `synth-cfg${cfg}`,
    overall: 0.5 + cfg / 30,
    judgeTestAccuracy: 0.85,
    n: null,
    evalSet: null,
    perClass: CLASSES.map((className) => ({ className, recognizability: 0.5, accuracy: null, realAccuracy: null, gap: null })),
    correlation: a.recognizability[0]!.correlation,
    diversity: metrics(cfg),
  }));
  return { ...a, recognizability };
}

describe('CFG groups and trade-off rows', () => {
  test('sources differing only in CFG form one group; another description or prompt provenance is another family', () => {
    const groups = cfgGroups(sweepAnalysis());
    assert.equal(groups.length, 1);
    // synth-cfg1 has its own description and synth-cfg2 its own prompt provenance: alone, so left out.
    assert.deepEqual(groups[0]!.sources.map((s) => s.cfg), [4, 8, 12]);
    assert.equal(groups[0]!.label, 'embedded-gmm, classnames');
    const budgets = sweepSources().map((s) => (s.name === 'synth-cfg8' ? { ...s, generatorRealImages: 1000 } : s));
    assert.deepEqual(cfgGroups({ ...sweepAnalysis(), sources: budgets })[0]!.sources.map((s) => s.cfg), [4, 12], 'a different generator budget is another source family');
  });

  test('rows per panel, with the real references', () => {
    const a = analysisWithDiversity();
    const rows = tradeoffRows(a);
    const panel = (p: string) => rows.filter((r) => r.panel.startsWith(p) && r.series === 'source').map((r) => [r.cfg, r.value]);
    assert.deepEqual(panel('recall'), [4, 8, 12].map((cfg) => [cfg, metrics(cfg).recall]));
    assert.deepEqual(panel('recognizability'), [4, 8, 12].map((cfg) => [cfg, 0.5 + cfg / 30]));
    assert.deepEqual(panel('accuracy at N = 3000'), [4, 8, 12].map((cfg) => [cfg, accuracyAt(a, `synth-cfg${cfg}`, 'test', 3000)]));
    const real = rows.filter((r) => r.series === 'real').map((r) => [r.panel, r.value]);
    assert.deepEqual(real, [['Vendi score (diversity)', 50], ['accuracy at N = 3000', accuracyAt(a, 'real', 'test', 3000)]]);
    assert.ok(diversityChartSpec(a));
  });
});

describe('diversitySections', () => {
  test('the table, the best settings per group, and the figure', () => {
    const a = analysisWithDiversity();
    const blocks = diversitySections(a);
    const tables = blocks.filter((b) => b.kind === 'table');
    assert.equal(tables.length, 2);
    assert.deepEqual(tables[0]!.kind === 'table' && tables[0]!.rows[0], ['synth-cfg2', '2', '0.550', '0.800', '0.800', '0.733', '12', '20', '—', '2000']);
    const accuracies = [4, 8, 12].map((cfg) => ({ cfg, v: accuracyAt(a, `synth-cfg${cfg}`, 'test', 3000)! }));
    const best = accuracies.reduce((p, q) => (q.v > p.v ? q : p));
    const peaks = tables[1]!.kind === 'table' ? tables[1]!.rows[0]! : [];
    assert.equal(peaks[2], `CFG ${best.cfg} (${best.v.toFixed(3)})`);
    assert.deepEqual(peaks.slice(3), ['CFG 12 (0.900)', 'CFG 4 (0.700)', 'CFG 4 (10.000)']);
    assert.ok(blocks.some((b) => b.kind === 'figure' && b.file === DIVERSITY_FIGURE.file && b.raster === DIVERSITY_FIGURE.raster));
    const markdown = toMarkdown(blocks);
    assert.ok(!markdown.includes('[object Object]'));
    assert.match(markdown, /real test images score 50/);
  });

  test('without diversity or CFG groups: nothing; groups without diversity: the trade-off only', () => {
    const a = sweepAnalysis();
    assert.deepEqual(diversitySections({ ...a, sources: a.sources.filter((s) => s.name !== 'synth-cfg4' && s.name !== 'synth-cfg8' && s.name !== 'synth-cfg12') }), []);
    const blocks = diversitySections(a);
    assert.ok(blocks.some((b) => b.kind === 'figure'));
    assert.ok(!blocks.some((b) => b.kind === 'heading' && b.text === 'Diversity and fidelity'));
  });
});

describe('renderDiversitySvg', () => {
  test('an SVG with every panel; null without a CFG group', async () => {
    const a = analysisWithDiversity();
    const svg = await renderDiversitySvg(a);
    assert.ok(svg !== null && svg.startsWith('<?xml') && svg.includes('<svg'));
    for (const title of ['recognizability', 'recall (diversity)', 'Vendi score (diversity)', 'accuracy at N = 3000']) assert.ok(svg.includes(title), title);
    assert.equal(await renderDiversitySvg({ ...a, sources: a.sources.filter((s) => s.kind !== 'synthetic') }), null);
  });
});
