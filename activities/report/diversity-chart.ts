// The paper's CFG trade-off as one figure: for synthetic sources that differ only in CFG (same
// generator, prompts and generator real-image budget), recognizability and precision (fidelity),
// recall, coverage and the Vendi score (diversity), and accuracy at the largest N, each against CFG.
// A Vega-Lite spec rendered to SVG like charts.ts.
import { toSvg } from './charts.js';
import { cfgFreeDescription, cfgGroupKey } from '../../contracts/sources.js';
import type { TopLevelSpec } from 'vega-lite';
import type { RecognizabilityAnalysis, SweepAnalysis } from '../../contracts/analysis.js';
import { DIVERSITY_K, type DiversityMetrics } from '../../core/stats/diversity.js';

export const DIVERSITY_FIGURE = { file: 'cfg-tradeoff.svg', raster: 'cfg-tradeoff.png' } as const;

/** Synthetic sources of one generator and prompt config, at two or more CFG scales (ascending). */
export interface CfgGroup {
  label: string;
  sources: { name: string; cfg: number }[];
}

/** One point of the figure: a panel's value for one source, or (series 'real') the real reference. */
export interface TradeoffRow {
  panel: string;
  group: string;
  source: string;
  cfg: number | null;
  value: number;
  series: 'source' | 'real';
}

/** The analysis's per-source diversity, when the recognizability stage measured it (recognizability-2 on). */
export const diversityOf = (r: RecognizabilityAnalysis | undefined): DiversityMetrics | undefined => r?.diversity;

/** The clean eval set, where accuracy is read: `clean` as the report's view has it (dataset-view.ts), else the first not under an OOD shift. */
export const cleanEvalSet = (a: SweepAnalysis, clean?: string | null) => (clean !== undefined ? clean : (a.evalSets.find((e) => !e.startsWith('ood-')) ?? null));

/** The largest N of the sweep, where accuracy is read. */
export const largestN = (a: SweepAnalysis) => (a.sizes.length > 0 ? Math.max(...a.sizes) : null);

/**
 * Synthetic sources grouped by everything but CFG: the description less its "CFG x", the prompt
 * strategy and provenance, and the generator's real images (the key of activities/analyze/findings-cfg.ts).
 */
export function cfgGroups(a: SweepAnalysis): CfgGroup[] {
  const groups = new Map<string, CfgGroup>();
  for (const s of a.sources) {
    if (s.kind !== 'synthetic' || s.cfgScale === undefined) continue;
    const base = cfgFreeDescription(s.description);
    const key = cfgGroupKey(s);
    const label = s.generatorRealImages !== undefined ? `${base} · generator fitted on ${s.generatorRealImages} real images` : base;
    const group = groups.get(key) ?? { label, sources: [] };
    group.sources.push({ name: s.name, cfg: s.cfgScale });
    groups.set(key, group);
  }
  const out = [...groups.values()].filter((g) => new Set(g.sources.map((s) => s.cfg)).size >= 2);
  for (const g of out) g.sources.sort((p, q) => p.cfg - q.cfg);
  // Two groups that differ only in their prompts' provenance would share a label: name their first source.
  const labels = out.map((g) => g.label);
  for (const g of out) if (labels.filter((l) => l === g.label).length > 1) g.label = `${g.label} (${g.sources[0]!.name}, …)`;
  return out;
}

/** Mean accuracy of `source` at `n` on `evalSet`, if that cell group exists. */
export function accuracyAt(a: SweepAnalysis, source: string, evalSet: string | null, n: number | null): number | null {
  const curve = a.curves.find((c) => c.source === source && c.evalSet === evalSet);
  return curve?.perN.find((p) => p.n === n)?.accuracy.mean ?? null;
}

/** The panels' titles, in reading order. */
export function tradeoffPanels(a: SweepAnalysis): string[] {
  return ['recognizability', 'precision (fidelity)', 'recall (diversity)', 'coverage (diversity)', 'Vendi score (diversity)', `accuracy at N = ${largestN(a) ?? '—'}`];
}

/** The figure's points: each group's sources per panel, and the real reference for Vendi and accuracy. */
export function tradeoffRows(a: SweepAnalysis, clean?: string | null): TradeoffRow[] {
  const [recognized, precision, recall, coverage, vendi, accuracy] = tradeoffPanels(a) as [string, string, string, string, string, string];
  const evalSet = cleanEvalSet(a, clean);
  const n = largestN(a);
  const rows: TradeoffRow[] = [];
  const push = (panel: string, group: string, source: string, cfg: number | null, value: number | null | undefined, series: TradeoffRow['series'] = 'source') => {
    if (value !== null && value !== undefined && Number.isFinite(value)) rows.push({ panel, group, source, cfg, value, series });
  };
  for (const g of cfgGroups(a)) {
    for (const s of g.sources) {
      const r = a.recognizability.find((x) => x.source === s.name);
      const d = diversityOf(r);
      push(recognized, g.label, s.name, s.cfg, r?.overall);
      push(precision, g.label, s.name, s.cfg, d?.precision);
      push(recall, g.label, s.name, s.cfg, d?.recall);
      push(coverage, g.label, s.name, s.cfg, d?.coverage);
      push(vendi, g.label, s.name, s.cfg, d?.vendi);
      push(accuracy, g.label, s.name, s.cfg, accuracyAt(a, s.name, evalSet, n));
    }
  }
  if (rows.length === 0) return rows;
  const realVendi = a.recognizability.map(diversityOf).find((d) => d !== undefined)?.realVendi;
  push(vendi, 'real', 'real test images', null, realVendi, 'real');
  if (a.realSource) push(accuracy, 'real', a.realSource, null, accuracyAt(a, a.realSource, evalSet, n), 'real');
  return rows;
}

/** The figure as Vega-Lite: one panel per measure, CFG on x, a line per group; null without a CFG group. */
export function diversityChartSpec(a: SweepAnalysis, clean?: string | null): TopLevelSpec | null {
  const rows = tradeoffRows(a, clean);
  if (rows.length === 0) return null;
  const cfgs = rows.flatMap((r) => (r.cfg === null ? [] : [r.cfg]));
  const margin = (Math.max(...cfgs) - Math.min(...cfgs)) * 0.06;
  // An explicit domain with a margin: the same in every panel, points clear of the axes.
  const x = { field: 'cfg', type: 'quantitative', title: 'CFG scale', scale: { domain: [Math.min(...cfgs) - margin, Math.max(...cfgs) + margin], nice: false } };
  const y = { field: 'value', type: 'quantitative', title: null, scale: { zero: false } };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'The CFG trade-off: fidelity, diversity and accuracy against guidance scale',
      subtitle: [`features: the judge classifier's penultimate layer · k = ${DIVERSITY_K} neighbourhoods`, 'dashed: real data (Vendi score of real test images; accuracy of the real source)'],
      anchor: 'start',
    },
    background: 'white',
    padding: 12,
    data: { values: rows },
    facet: { field: 'panel', type: 'nominal', title: null, sort: tradeoffPanels(a) },
    columns: 3,
    spec: {
      width: 220,
      height: 160,
      layer: [
        {
          transform: [{ filter: "datum.series === 'source'" }],
          mark: { type: 'line', point: { filled: true, size: 45 }, strokeWidth: 1.5 },
          encoding: {
            x,
            y,
            color: { field: 'group', type: 'nominal', title: 'generator · prompts', legend: { orient: 'bottom', direction: 'vertical', labelLimit: 480 } },
            tooltip: [{ field: 'source', type: 'nominal' }, { field: 'cfg', type: 'quantitative', title: 'CFG' }, { field: 'value', type: 'quantitative', format: '.4f' }],
          },
        },
        {
          transform: [{ filter: "datum.series === 'real'" }],
          mark: { type: 'rule', strokeDash: [5, 4], color: '#555', strokeWidth: 1.2 },
          encoding: { y, tooltip: [{ field: 'source', type: 'nominal' }, { field: 'value', type: 'quantitative', format: '.4f' }] },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
    config: { font: 'Helvetica, Arial, sans-serif', axis: { labelFontSize: 11, titleFontSize: 11, gridColor: '#e6e6e6' }, view: { stroke: '#ccc' } },
  };
  return spec as unknown as TopLevelSpec;
}

/** The trade-off figure as a standalone SVG document; null when no synthetic sources differ only in CFG. */
export async function renderDiversitySvg(a: SweepAnalysis, clean?: string | null): Promise<string | null> {
  const spec = diversityChartSpec(a, clean);
  if (spec === null) return null;
  return toSvg(spec);
}
