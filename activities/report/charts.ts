// The report's charts as Vega-Lite specs, compiled to Vega and rendered to standalone SVG on the
// server with the headless 'none' renderer (no canvas, no fonts to fetch).
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { SweepAnalysis } from '../../contracts/analysis.js';
import { panelSpec } from './scaling-panel.js';

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

/** Per-class recognizability bars per synthetic source (Vega-Lite, compiled to SVG on the server). */
export async function renderRecognizabilitySvg(a: SweepAnalysis): Promise<string | null> {
  if (a.recognizability.length === 0) return null;
  const values = a.recognizability.flatMap((r) =>
    r.perClass.filter((p) => p.recognizability !== null).map((p) => ({ source: r.source, className: p.className, recognizability: p.recognizability })),
  );
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Recognizability: share of generated images the real-data judge labels as the prompted class',
    data: { values },
    mark: 'bar',
    // A bar per source in each class column, the column no wider than 240 px however many sources.
    width: Math.min(240, 60 * Math.max(1, a.recognizability.length)),
    height: 220,
    encoding: {
      column: { field: 'className', type: 'nominal', title: null, sort: values.map((v) => v.className) },
      x: { field: 'source', type: 'nominal', title: null, axis: { labels: false, ticks: false } },
      y: { field: 'recognizability', type: 'quantitative', scale: { domain: [0, 1] }, title: 'recognized' },
      color: { field: 'source', type: 'nominal', title: 'source' },
    },
  } as TopLevelSpec;
  return toSvg(spec);
}

/** The scaling chart: per eval set a row of two panels (loss, error vs N), one colour per source. */
export function chartSpec(a: SweepAnalysis, sweepId: string): TopLevelSpec {
  const sourceOrder = [...new Set(a.curves.map((c) => c.source))];
  const multiEval = a.evalSets.length > 1;
  const rows = a.evalSets.map((evalSet) => {
    const curves = a.curves.filter((c) => c.evalSet === evalSet);
    const panels = [panelSpec(curves, 'loss', evalSet, sourceOrder, multiEval), panelSpec(curves, 'error', evalSet, sourceOrder, multiEval)];
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
export function renderChartSvg(a: SweepAnalysis, sweepId: string): Promise<string> {
  return toSvg(chartSpec(a, sweepId));
}

