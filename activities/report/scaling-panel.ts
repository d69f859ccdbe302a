// One panel of the scaling chart: a metric (loss or error) against N on log axes for one eval
// set, each source's means with their 95% CI as band and bars, and its fitted power law.
import type { CurveAnalysis } from '../../contracts/analysis.js';
import { predictPowerLaw } from '../../core/stats/powerlaw.js';
import { withheldText } from './format.js';
import { logTicks, sizeTicks } from './ticks.js';

type Metric = 'loss' | 'error';

const METRIC_LABEL: Record<Metric, string> = {
  loss: 'test loss (cross-entropy)',
  error: 'top-1 error (1 − accuracy)',
};

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

/**
 * Each mark's aria-label is its source's name: what the report page's source checkboxes hide
 * (html.ts), and what a screen reader reads.
 */
export const SOURCE_DESCRIPTION = { field: 'source', type: 'nominal' } as const;

const SERIES_MEAN = 'mean ± 95% CI';
const SERIES_FIT = 'power-law fit';

/** A panel as Vega-Lite: a layer spec under a title, for chartSpec to concatenate. */
export interface PanelSpec {
  title: { text: string; subtitle: string[] };
  width: number;
  height: number;
  layer: Record<string, unknown>[];
}

/** The panel's points and fit lines, and the sources drawn without a fit line (with why). */
export function panelRows(curves: CurveAnalysis[], metric: Metric, sourceOrder: string[]): { means: MeanRow[]; fits: FitRow[]; noFit: string[] } {
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
      noFit.push(`${c.source} (${withheldText(ms)})`);
    }
  }
  return { means, fits, noFit };
}

/** The y domain [yMin, yMax] and the mean rows drawn in it (CI ends clipped to it). */
export function panelDomain(means: MeanRow[], fits: FitRow[]): { yMin: number; yMax: number; meanRows: MeanRow[] } {
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
  return { yMin, yMax, meanRows };
}

/** The encodings the panel's layers share: x, the mean's y, the CI interval, colour by source, dash by series. */
function panelEncodings(metric: Metric, means: MeanRow[], yMin: number, yMax: number, sourceOrder: string[]) {
  const xs = means.map((r) => r.x).filter((v) => v > 0);
  const xDomain = xs.length > 0 ? [Math.min(...xs) / 1.25, Math.max(...xs) * 1.25] : [1, 10];

  const x = {
    field: 'x',
    type: 'quantitative',
    title: 'training images N (log scale)',
    scale: { type: 'log', domain: xDomain, nice: false },
    // Every N up to the largest, thinned so labels do not collide (Vega's log ticks could drop the largest).
    axis: { format: '~s', grid: true, values: sizeTicks(means.map((r) => r.n), 1.9), labelOverlap: 'greedy' },
  };
  const yTitle = `${METRIC_LABEL[metric]} (log scale)`;
  // Round values inside the domain: Vega's log ticks label only powers of ten, none on a loss axis over 1..3.
  const yScale = { type: 'log', domain: [yMin, yMax], nice: false };
  const yAxis = { values: logTicks(yMin, yMax), format: '~g' };
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
  // The CI from lo to hi: drawn as a band and as bars.
  // stack: null, or Vega-Lite stacks one source's area on another's (areas with a color field stack by default).
  const interval = { x, y: { field: 'lo', type: 'quantitative', title: yTitle, scale: yScale, axis: yAxis, stack: null }, y2: { field: 'hi' }, color, description: SOURCE_DESCRIPTION };
  const yMean = { field: 'y', type: 'quantitative', title: yTitle, scale: yScale, axis: yAxis };
  return { x, yMean, interval, color, dash };
}

/**
 * One panel; `evalSetLabel` names its eval set in the subtitle when the chart has several (another
 * dataset's eval set with that dataset's title: dataset-view.ts).
 */
export function panelSpec(curves: CurveAnalysis[], metric: Metric, evalSet: string, sourceOrder: string[], multiEval: boolean, evalSetLabel = evalSet): PanelSpec {
  const k = sourceOrder.length;
  const { means, fits, noFit } = panelRows(curves, metric, sourceOrder);
  const { yMin, yMax, meanRows } = panelDomain(means, fits);
  const { x, yMean, interval, color, dash } = panelEncodings(metric, means, yMin, yMax, sourceOrder);
  const subtitle: string[] = [];
  if (multiEval) subtitle.push(clip(`eval set: ${evalSetLabel}`, SUBTITLE_CHARS));
  // Every panel gets a subtitle so the two panels of a row stay aligned (chartSpec pads the line counts).
  subtitle.push(...(noFit.length > 0 ? wrapList('no fit line: ', noFit, SUBTITLE_CHARS) : ['fit lines for all sources']));
  const title = metric === 'loss' ? 'Test loss vs N' : 'Top-1 error vs N';

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
      encoding: { x, y: yMean, color, strokeDash: dash, description: SOURCE_DESCRIPTION },
    },
    {
      data: { values: meanRows },
      mark: { type: 'point', filled: true, size: 45, opacity: 1 },
      encoding: {
        x,
        y: yMean,
        color,
        description: SOURCE_DESCRIPTION,
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
      encoding: { x, y: yMean, color, strokeDash: dash, description: SOURCE_DESCRIPTION },
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

/** `s` cut to `max` characters ("…" marks the cut): a title from users stays on its line. */
function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

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
