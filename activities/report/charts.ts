// The report's charts as Vega-Lite specs, compiled to Vega and rendered to standalone SVG on the
// server with the headless 'none' renderer (no canvas, no fonts to fetch).
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { CurveAnalysis, SweepAnalysis } from '../../contracts/analysis.js';
import { predictPowerLaw } from '../../core/stats/powerlaw.js';

const METRIC_LABEL: Record<'loss' | 'error', string> = {
  loss: 'test loss (cross-entropy)',
  error: 'top-1 error (1 − accuracy)',
};

/** A Vega-Lite spec as a standalone SVG document. */
async function toSvg(spec: TopLevelSpec): Promise<string> {
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

// ---------------------------------------------------------------------------------------------
// Chart

interface MeanRow {
  source: string;
  n: number;
  x: number;
  y: number;
  lo: number;
  hi: number;
  series: string;
}

interface FitRow {
  source: string;
  x: number;
  y: number;
  series: string;
}

const SERIES_MEAN = 'mean ± 95% CI';
const SERIES_FIT = 'power-law fit';

function panelSpec(
  curves: CurveAnalysis[],
  metric: 'loss' | 'error',
  evalSet: string,
  sourceOrder: string[],
  multiEval: boolean,
): { title: { text: string; subtitle: string[] }; width: number; height: number; layer: Record<string, unknown>[] } {
  const k = sourceOrder.length;
  const means: MeanRow[] = [];
  const fits: FitRow[] = [];
  const noFit: string[] = [];
  for (const c of curves) {
    const idx = sourceOrder.indexOf(c.source);
    const dodge = Math.pow(10, 0.012 * (idx - (k - 1) / 2));
    for (const p of c.perN) {
      const m = p[metric];
      means.push({ source: c.source, n: p.n, x: p.n * dodge, y: m.mean, lo: m.lo, hi: m.hi, series: SERIES_MEAN });
    }
    const ms = c[metric];
    if (ms.fit && !ms.unreliable && c.perN.length >= 2) {
      const n0 = c.perN[0]!.n;
      const n1 = c.perN[c.perN.length - 1]!.n;
      const steps = 40;
      for (let i = 0; i <= steps; i++) {
        const n = n0 * Math.pow(n1 / n0, i / steps);
        fits.push({ source: c.source, x: n, y: predictPowerLaw(ms.fit, n), series: SERIES_FIT });
      }
    } else {
      noFit.push(`${c.source} (${!ms.monotone ? 'not monotone' : !ms.fit ? 'no fit' : 'unreliable'})`);
    }
  }
  // Log axes need positive values: pick a domain from the positive values and clip CI ends below it.
  const positives = [
    ...means.map((r) => r.y),
    ...means.map((r) => r.lo),
    ...means.map((r) => r.hi),
    ...fits.map((r) => r.y),
  ].filter((v) => v > 0 && Number.isFinite(v));
  const centers = [...means.map((r) => r.y), ...fits.map((r) => r.y)].filter((v) => v > 0 && Number.isFinite(v));
  let yMin = positives.length > 0 ? Math.min(...positives) / 1.1 : 1e-3;
  const centerMin = centers.length > 0 ? Math.min(...centers) : yMin;
  // A very wide CI (e.g. two seeds, t = 12.7) would squash the panel: keep the domain within a factor 5 of the
  // extreme means and clip the bars there.
  yMin = Math.max(yMin, centerMin / 5);
  const centerMax = centers.length > 0 ? Math.max(...centers) : 1;
  const yMax = positives.length > 0 ? Math.min(Math.max(...positives) * 1.1, centerMax * 5) : 1;
  const clip = (v: number): number => Math.min(yMax, Math.max(yMin, Number.isFinite(v) ? v : yMin));
  const meanRows = means.filter((r) => r.y > 0).map((r) => ({ ...r, lo: clip(r.lo), hi: clip(r.hi) }));
  const xs = means.map((r) => r.x).filter((v) => v > 0);
  const xDomain = xs.length > 0 ? [Math.min(...xs) / 1.25, Math.max(...xs) * 1.25] : [1, 10];

  const x = {
    field: 'x',
    type: 'quantitative',
    title: 'training images N (log scale)',
    scale: { type: 'log', domain: xDomain, nice: false },
    axis: { format: '~s', grid: true, labelOverlap: 'greedy' },
  };
  const yTitle = `${METRIC_LABEL[metric]} (log scale)`;
  const yScale = { type: 'log', domain: [yMin, yMax], nice: false };
  // The legend would take its symbol from the faint band layer: keep the points' solid circles.
  const color = {
    field: 'source',
    type: 'nominal',
    title: 'source',
    scale: { domain: sourceOrder },
    legend: { symbolType: 'circle', symbolOpacity: 1 },
  };
  const dash = {
    field: 'series',
    type: 'nominal',
    title: 'series',
    scale: { domain: [SERIES_MEAN, SERIES_FIT], range: [[1, 0], [6, 4]] },
    legend: { symbolType: 'stroke', symbolStrokeWidth: 2, symbolSize: 400, symbolStrokeColor: '#555' },
  };
  const subtitle: string[] = [];
  if (multiEval) subtitle.push(`eval set: ${evalSet}`);
  // Every panel gets a subtitle so the two panels of a row stay aligned (chartSpec pads the line counts).
  subtitle.push(...(noFit.length > 0 ? wrapList('no fit line: ', noFit, SUBTITLE_CHARS) : ['fit lines for all sources']));
  const title = metric === 'loss' ? 'Test loss vs N' : 'Top-1 error vs N';

  // The CI from lo to hi: drawn as a band and as bars.
  // stack: null, or Vega-Lite stacks one source's area on another's (areas with a color field stack by default).
  const interval = { x, y: { field: 'lo', type: 'quantitative', title: yTitle, scale: yScale, stack: null }, y2: { field: 'hi' }, color };
  const yMean = { field: 'y', type: 'quantitative', title: yTitle, scale: yScale };
  // Translucency is set as fill/stroke opacity, never as element opacity: librsvg (the PNG copy) renders
  // each element with opacity through a canvas-sized offscreen layer, minutes for a large sweep's chart.
  const layers: Record<string, unknown>[] = [
    {
      // The 95% CI over seeds as a shaded band under each source's means; the rule layer next marks it at each N.
      // Unique per panel: Vega-Lite gives same-named layers of a concat one mark and dataset, so a
      // shared name drew the error panel's bands (and y scale) in the loss panel.
      name: `ci_band_${metric}_${evalSet.replace(/[^A-Za-z0-9_]/g, '_')}`,
      data: { values: meanRows },
      // Many sources' bands overlap: fainter the more there are.
      mark: { type: 'area', fillOpacity: Math.min(0.14, Math.max(0.05, 1.2 / k)), interpolate: 'linear' },
      encoding: interval,
    },
    {
      data: { values: meanRows },
      mark: { type: 'rule', strokeWidth: 1.2, strokeOpacity: 0.8 },
      encoding: interval,
    },
    {
      data: { values: meanRows },
      mark: { type: 'line', strokeWidth: 1.5, strokeOpacity: 0.6 },
      encoding: { x, y: yMean, color, strokeDash: dash },
    },
    {
      data: { values: meanRows },
      mark: { type: 'point', filled: true, size: 45, opacity: 1 },
      encoding: {
        x,
        y: yMean,
        color,
        tooltip: [
          { field: 'source', type: 'nominal' },
          { field: 'n', type: 'quantitative', title: 'N' },
          { field: 'y', type: 'quantitative', title: 'mean', format: '.4f' },
          { field: 'lo', type: 'quantitative', title: 'CI lo', format: '.4f' },
          { field: 'hi', type: 'quantitative', title: 'CI hi', format: '.4f' },
        ],
      },
    },
  ];
  if (fits.length > 0) {
    layers.push({
      data: { values: fits },
      mark: { type: 'line', strokeWidth: 1.5, strokeOpacity: 0.9 },
      encoding: { x, y: yMean, color, strokeDash: dash },
    });
  }
  return {
    title: { text: title, subtitle },
    width: 360,
    height: 270,
    layer: layers,
  };
}

/** About what fits over a 360-px panel at the subtitle's font size. */
const SUBTITLE_CHARS = 64;

/** `prefix` and the items joined by commas, broken between items into lines of at most `width` characters. */
function wrapList(prefix: string, items: string[], width: number): string[] {
  const lines: string[] = [];
  let line = prefix;
  items.forEach((item, i) => {
    const text = i < items.length - 1 ? `${item},` : item;
    if (line === prefix) line += text;
    else if (line.length + 1 + text.length <= width) line += ` ${text}`;
    else {
      lines.push(line);
      line = text;
    }
  });
  return [...lines, line];
}

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

