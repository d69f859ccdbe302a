// The report's charts as Vega-Lite specs, compiled to Vega and rendered to standalone SVG on the
// server with the headless 'none' renderer (no canvas, no fonts to fetch).
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { SweepAnalysis } from '../../contracts/analysis.js';
import { panelSpec } from './scaling-panel.js';
import { evalSetLabel, type ReportView } from './dataset-view.js';
import { facetChartSpec, useFacets } from './facet-chart.js';
import { flatLayout, type ReportLayout } from './layout.js';

/** A Vega-Lite spec as a standalone SVG document. */
export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg.startsWith('<?xml') ? svg : `<?xml version="1.0" encoding="UTF-8"?>\n${svg}`;
  } finally {
    view.finalize();
  }
}

/** Up to this many classes the recognizability figure has a column of bars per class; more get one dot plot. */
export const RECOGNIZABILITY_BAR_CLASSES = 20;

/** Per-class recognizability per synthetic source (Vega-Lite, compiled to SVG on the server): bars per class, or for many classes a dot per class and source. */
export async function renderRecognizabilitySvg(a: SweepAnalysis): Promise<string | null> {
  if (a.recognizability.length === 0) return null;
  const values = a.recognizability.flatMap((r) =>
    r.perClass.filter((p) => p.recognizability !== null).map((p) => ({ source: r.source, className: p.className, recognizability: p.recognizability })),
  );
  const classCount = new Set(values.map((v) => v.className)).size;
  const spec = classCount > RECOGNIZABILITY_BAR_CLASSES ? recognizabilityDots(values, classCount) : recognizabilityBars(values, a.recognizability.length);
  return toSvg(spec);
}

type RecognizabilityRow = { source: string; className: string; recognizability: number | null };
const RECOGNIZABILITY_TITLE = 'Recognizability: share of generated images the real-data judge labels as the prompted class';

function recognizabilityBars(values: RecognizabilityRow[], sources: number): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: RECOGNIZABILITY_TITLE,
    data: { values },
    mark: 'bar',
    // A bar per source in each class column, the column no wider than 240 px however many sources.
    width: Math.min(240, 60 * Math.max(1, sources)),
    height: 220,
    encoding: {
      column: { field: 'className', type: 'nominal', title: null, sort: values.map((v) => v.className) },
      x: { field: 'source', type: 'nominal', title: null, axis: { labels: false, ticks: false } },
      y: { field: 'recognizability', type: 'quantitative', scale: { domain: [0, 1] }, title: 'recognized' },
      color: { field: 'source', type: 'nominal', title: 'source' },
    },
  } as TopLevelSpec;
}

/** Many classes: classes along x sorted by their mean over sources (labels only while they fit), a dot per source. */
function recognizabilityDots(values: RecognizabilityRow[], classCount: number): TopLevelSpec {
  const sums = new Map<string, { sum: number; n: number }>();
  for (const v of values) {
    const m = sums.get(v.className) ?? { sum: 0, n: 0 };
    sums.set(v.className, { sum: m.sum + (v.recognizability ?? 0), n: m.n + 1 });
  }
  const order = [...sums.entries()].sort((p, q) => q[1].sum / q[1].n - p[1].sum / p[1].n).map(([name]) => name);
  const labels = classCount <= 60;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: RECOGNIZABILITY_TITLE, subtitle: `${classCount} classes, sorted by their mean over sources${labels ? '' : ' (class names in the table)'}` },
    data: { values },
    mark: { type: 'point', filled: true, size: 28 },
    width: Math.min(1000, Math.max(420, 5 * classCount)),
    height: 240,
    encoding: {
      x: { field: 'className', type: 'nominal', sort: order, title: 'class', axis: { labels, ticks: labels, labelAngle: -60, labelLimit: 120 } },
      y: { field: 'recognizability', type: 'quantitative', scale: { domain: [0, 1] }, title: 'recognized' },
      color: { field: 'source', type: 'nominal', title: 'source' },
      tooltip: [{ field: 'className', type: 'nominal', title: 'class' }, { field: 'source', type: 'nominal' }, { field: 'recognizability', type: 'quantitative', format: '.3f' }],
    },
  } as TopLevelSpec;
}

/** The scaling chart: per eval set a row of two panels (loss, error vs N), one colour per source; `view` labels the rows. */
export function chartSpec(a: SweepAnalysis, sweepId: string, view?: ReportView, layout: ReportLayout = flatLayout()): TopLevelSpec {
  // Many sources: small multiples by the spec's factors, on the clean eval set (the others are in the slope-ratio heatmap and the tables).
  const main = view?.clean ?? a.evalSets[0];
  if (main !== undefined && useFacets(a, layout, main)) return facetChartSpec(a, sweepId, layout, main, evalSetLabel(view, main));
  const sourceOrder = [...new Set(a.curves.map((c) => c.source))];
  const multiEval = a.evalSets.length > 1;
  const rows = a.evalSets.map((evalSet) => {
    const curves = a.curves.filter((c) => c.evalSet === evalSet);
    const label = evalSetLabel(view, evalSet);
    const panels = [panelSpec(curves, 'loss', evalSet, sourceOrder, multiEval, label), panelSpec(curves, 'error', evalSet, sourceOrder, multiEval, label)];
    // Equal subtitle heights keep the two plots of a row level.
    const lines = Math.max(...panels.map((p) => p.title.subtitle.length));
    for (const p of panels) while (p.title.subtitle.length < lines) p.title.subtitle.push(' ');
    return { hconcat: panels };
  });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `Scaling of synthetic vs real training data — ${sweepId}`,
      subtitle: 'log-log axes · points: mean over seeds · shaded bands and bars: 95% CI over seeds · dashed: fitted power law a·N^(−b)',
      anchor: 'start',
      fontSize: 15,
    },
    background: 'white',
    padding: 12,
    vconcat: rows.length > 0 ? rows : [{ mark: 'text', encoding: { text: { value: 'no data' } } }],
    resolve: { scale: { color: 'shared', strokeDash: 'shared' } },
    config: {
      font: 'Helvetica, Arial, sans-serif',
      title: { fontSize: 13, subtitleFontSize: 11, subtitleColor: '#555' },
      axis: { labelFontSize: 11, titleFontSize: 11, gridColor: '#e6e6e6' },
      legend: { labelFontSize: 11, titleFontSize: 11, orient: 'right', symbolStrokeWidth: 2 },
      range: { category: { scheme: sourceOrder.length > 10 ? 'tableau20' : 'tableau10' } },
      view: { stroke: '#ccc' },
    },
  };
  return spec as unknown as TopLevelSpec;
}

/** The scaling chart of the analysis (loss and error vs N per eval set) as a standalone SVG document. */
export function renderChartSvg(a: SweepAnalysis, sweepId: string, view?: ReportView, layout?: ReportLayout): Promise<string> {
  return toSvg(chartSpec(a, sweepId, view, layout));
}

