// The scaling chart of a large sweep as small multiples: one small panel per combination of the
// spec's factors the synthetic sources vary along (generator x prompt strategy), colour for the
// remaining one (CFG scale), the real source drawn in every panel for reference, and the real,
// control and mixed sources in a panel of their own; error and loss each a grid of such panels,
// on one shared y scale per metric so panels compare. Sources with identical images are drawn once.
import type { TopLevelSpec } from 'vega-lite';
import type { CurveAnalysis, SweepAnalysis } from '../../contracts/analysis.js';
import { FACTOR_LABEL, type FactorName, type ReportLayout } from './layout.js';
import { panelDomain, panelRows, SOURCE_DESCRIPTION } from './scaling-panel.js';
import { logTicks, sizeTicks } from './ticks.js';

type Metric = 'loss' | 'error';

/** From this many distinct curves on an eval set, the chart is small multiples (below: one panel per metric with every source). */
export const FACET_FROM_SOURCES = 9;

export const REFERENCE_PANEL = 'real data and references';

const PANEL_WIDTH = 205;
const PANEL_HEIGHT = 150;
const COLUMNS = 4;
/** The colours of the colour factor's values (a sequential-looking order for CFG), then the references'. */
const FACTOR_COLOURS = ['#1f77b4', '#2ca02c', '#ff7f0e', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const REFERENCE_COLOURS = ['#111111', '#8c6d31', '#637939', '#7b4173', '#3182bd'];

interface Panel {
  title: string;
  /** The title as lines: one per panel factor. */
  lines: string[];
  curves: CurveAnalysis[];
  /** Hidden members of same-image groups in this panel, by the panel factors' values. */
  same: string[];
}

export interface FacetPlan {
  panels: Panel[];
  colourFactor: FactorName | null;
  panelFactors: FactorName[];
  /** Colour label per source ("CFG 2", or the source's name). */
  colourOf: Map<string, string>;
  colourDomain: string[];
  /** The first this many of colourDomain are the colour factor's values; the references' follow. */
  factorColours: number;
}

/** Whether the chart of `a` on `evalSet` is drawn as small multiples. */
export function useFacets(a: SweepAnalysis, layout: ReportLayout, evalSet: string): boolean {
  const shown = a.curves.filter((c) => c.evalSet === evalSet && layout.shown(c.source));
  return shown.length >= FACET_FROM_SOURCES && layout.varying.length > 0;
}

/** Panels, colours and their order for the curves of one eval set. */
export function facetPlan(a: SweepAnalysis, layout: ReportLayout, evalSet: string): FacetPlan {
  const curves = a.curves.filter((c) => c.evalSet === evalSet);
  const colourFactor: FactorName | null = layout.varying.includes('cfg') ? 'cfg' : layout.varying.includes('strategy') ? 'strategy' : null;
  const panelFactors = layout.varying.filter((f) => f !== colourFactor);
  const panelLines = (source: string) => {
    const f = layout.factors.get(source)!;
    return panelFactors.length > 0 ? panelFactors.map((p) => `${FACTOR_LABEL[p]} ${f[p]}`) : ['synthetic sources'];
  };
  const panelKey = (source: string) => panelLines(source).join(' · ');
  const references = curves.filter((c) => !layout.factors.has(c.source) && layout.shown(c.source));
  const panels = new Map<string, Panel>();
  for (const c of curves) {
    if (!layout.factors.has(c.source)) continue;
    const key = panelKey(c.source);
    const group = layout.groups.find((g) => g.members.includes(c.source));
    if (!layout.shown(c.source)) {
      // A hidden member adds what differs in its panel's name to the panel of the member that is drawn.
      const first = group!.members[0]!;
      const panel = panels.get(panelKey(first));
      const mine = layout.factors.get(c.source)!;
      const theirs = layout.factors.get(first);
      const differs = panelFactors.filter((f) => mine[f] !== theirs?.[f]).map((f) => mine[f]).join(' · ');
      if (panel && differs && !panel.same.includes(differs)) panel.same.push(differs);
      continue;
    }
    if (!panels.has(key)) panels.set(key, { title: key, lines: panelLines(c.source), curves: [], same: [] });
    panels.get(key)!.curves.push(c);
  }
  const real = a.realSource ? curves.find((c) => c.source === a.realSource) : undefined;
  for (const p of panels.values()) if (real) p.curves.push(real);
  const all = [...panels.values(), ...(references.length > 0 ? [{ title: REFERENCE_PANEL, lines: [REFERENCE_PANEL], curves: references, same: [] }] : [])];

  const colourOf = new Map<string, string>();
  for (const c of curves) {
    const f = layout.factors.get(c.source);
    colourOf.set(c.source, f && colourFactor ? `${FACTOR_LABEL[colourFactor]} ${f[colourFactor]}` : c.source);
  }
  const factorValues = [...new Set([...layout.factors.keys()].map((s) => colourOf.get(s)!).filter((v) => v !== undefined))];
  if (colourFactor === 'cfg') factorValues.sort((p, q) => Number(p.split(' ')[1]) - Number(q.split(' ')[1]));
  // The real source first: it gets black, the colour it has in every panel.
  const refNames = [...new Set(curves.filter((c) => !layout.factors.has(c.source)).map((c) => c.source))].sort((p, q) => Number(q === a.realSource) - Number(p === a.realSource));
  return { panels: all, colourFactor, panelFactors, colourOf, colourDomain: [...factorValues, ...refNames], factorColours: factorValues.length };
}

/** One metric's grid of panels, all on the y and x domains of the whole grid. */
function metricGrid(a: SweepAnalysis, plan: FacetPlan, metric: Metric, evalSetLabel: string): Record<string, unknown> {
  const everyCurve = [...new Map(plan.panels.flatMap((p) => p.curves).map((c) => [c.source, c])).values()];
  const order = everyCurve.map((c) => c.source);
  const whole = panelRows(everyCurve, metric, order);
  const { yMin, yMax } = panelDomain(whole.means, whole.fits);
  const ns = a.sizes.length > 0 ? a.sizes : whole.means.map((r) => r.n);
  const x = {
    field: 'x',
    type: 'quantitative',
    title: 'N (log)',
    scale: { type: 'log', domain: [Math.min(...ns) / 1.3, Math.max(...ns) * 1.3], nice: false },
    axis: { values: sizeTicks(ns, 3.5), format: '~s', grid: true },
  };
  const y = { field: 'y', type: 'quantitative', title: null, scale: { type: 'log', domain: [yMin, yMax], nice: false, clamp: true }, axis: { values: logTicks(yMin, yMax), format: '~g' } };
  const k = plan.factorColours;
  const colourRange = plan.colourDomain.map((_, i) => (i < k ? FACTOR_COLOURS[i % FACTOR_COLOURS.length]! : REFERENCE_COLOURS[(i - k) % REFERENCE_COLOURS.length]!));
  const color = { field: 'colour', type: 'nominal', title: plan.colourFactor ? FACTOR_LABEL[plan.colourFactor] : 'source', scale: { domain: plan.colourDomain, range: colourRange }, legend: { symbolType: 'circle' } };
  const panels = plan.panels.map((panel, i) => {
    const { means, fits } = panelRows(panel.curves, metric, order);
    const clip = (v: number) => Math.min(yMax, Math.max(yMin, Number.isFinite(v) ? v : yMin));
    const colour = (source: string) => plan.colourOf.get(source) ?? source;
    const meanRows = means.filter((r) => r.y > 0).map((r) => ({ ...r, colour: colour(r.source), lo: clip(r.lo), hi: clip(r.hi) }));
    const fitRows = fits.map((r) => ({ ...r, colour: colour(r.source) }));
    const encodingBase = { x, color, description: SOURCE_DESCRIPTION };
    return {
      title: {
        text: panel.lines.map((l) => clipText(l, 42)),
        subtitle: panel.same.length > 0 ? clipText(`= ${panel.same.join(' = ')} (same images)`, 56) : ' ',
        fontSize: 11,
        subtitleFontSize: 10,
        subtitleColor: '#a33',
        // Clipped to the panel, or a long title widens its whole column of the grid.
        limit: PANEL_WIDTH + 20,
      },
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
      layer: [
        { name: `ci_${metric}_${i}`, data: { values: meanRows }, mark: { type: 'rule', strokeWidth: 1, strokeOpacity: 0.7 }, encoding: { ...encodingBase, y: { ...y, field: 'lo' }, y2: { field: 'hi' } } },
        {
          data: { values: meanRows },
          mark: { type: 'point', filled: true, size: 22, opacity: 1 },
          encoding: { ...encodingBase, y, tooltip: [{ field: 'source', type: 'nominal' }, { field: 'n', type: 'quantitative', title: 'N' }, { field: 'y', type: 'quantitative', title: 'mean', format: '.4f' }] },
        },
        ...(fitRows.length > 0 ? [{ data: { values: fitRows }, mark: { type: 'line', strokeWidth: 1.4, strokeOpacity: 0.9 }, encoding: { ...encodingBase, y, detail: { field: 'source' } } }] : []),
      ],
    };
  });
  return {
    title: { text: `${metric === 'loss' ? 'Test loss (cross-entropy)' : 'Top-1 error (1 − accuracy)'} vs N on ${clipText(evalSetLabel, 60)}, log-log`, anchor: 'start', fontSize: 13 },
    columns: COLUMNS,
    concat: panels,
  };
}

/** The small multiples of `evalSet` as a Vega-Lite spec: the error grid above the loss grid. */
export function facetChartSpec(a: SweepAnalysis, sweepId: string, layout: ReportLayout, evalSet: string, evalSetLabel: string): TopLevelSpec {
  const plan = facetPlan(a, layout, evalSet);
  const by = [...plan.panelFactors.map((f) => FACTOR_LABEL[f]), ...(plan.colourFactor ? [`colour: ${FACTOR_LABEL[plan.colourFactor]}`] : [])].join(' × ');
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `Scaling of synthetic vs real training data — ${sweepId}`,
      subtitle: `small multiples by ${by} · black: ${a.realSource ?? 'real'} in every panel · points: mean over seeds, bars: 95% CI · lines: fitted power law a·N^(−b)`,
      anchor: 'start',
      fontSize: 15,
    },
    background: 'white',
    padding: 12,
    vconcat: [metricGrid(a, plan, 'error', evalSetLabel), metricGrid(a, plan, 'loss', evalSetLabel)],
    resolve: { scale: { color: 'shared' } },
    config: {
      font: 'Helvetica, Arial, sans-serif',
      title: { fontSize: 12, subtitleFontSize: 11, subtitleColor: '#555' },
      axis: { labelFontSize: 10, titleFontSize: 10, gridColor: '#e6e6e6' },
      legend: { labelFontSize: 11, titleFontSize: 11, orient: 'right' },
      view: { stroke: '#ccc' },
      concat: { spacing: 14 },
    },
  };
  return spec as unknown as TopLevelSpec;
}

function clipText(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
