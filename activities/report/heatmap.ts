// The slope-ratio heatmap: b_error(synthetic) / b_error(real) for every synthetic source (rows; a
// group of sources with identical images is one row) on every eval set (columns), the value
// printed in its cell, blue above 1 (scales better than real data), red below.
import type { TopLevelSpec } from 'vega-lite';
import type { SweepAnalysis } from '../../contracts/analysis.js';
import type { ReportLayout } from './layout.js';
import { evalSetLabel, type ReportView } from './dataset-view.js';

export const SLOPE_RATIO_FIGURE = { file: 'slope-ratios.svg', raster: 'slope-ratios.png' } as const;
export const SLOPE_RATIO_SECTION = 'Slope ratios';

/** A row label for the heatmap's axis: a group as its first member and how many more. */
function rowLabel(layout: ReportLayout, source: string): string {
  const group = layout.groups.find((g) => g.members[0] === source);
  return group ? `${source} (+${group.members.length - 1} same)` : source;
}

/** The heatmap's Vega-Lite spec, or null when the sweep has no comparisons to real data. */
export function slopeRatioHeatmapSpec(a: SweepAnalysis, layout: ReportLayout, view?: ReportView): TopLevelSpec | null {
  const comps = a.comparisons.filter((c) => layout.shown(c.source));
  if (comps.length === 0 || a.realSource === null) return null;
  const rows = [...new Set(comps.map((c) => c.source))];
  const values = comps.map((c) => ({
    source: rowLabel(layout, c.source),
    evalSet: evalSetLabel(view, c.evalSet),
    ratio: c.errorSlopeRatio,
    text: c.errorSlopeRatio === null ? '—' : c.errorSlopeRatio.toFixed(2),
    ci: c.errorSlopeRatioCI95 ? `[${c.errorSlopeRatioCI95.lo?.toFixed(2) ?? 'open'}, ${c.errorSlopeRatioCI95.hi?.toFixed(2) ?? 'open'}]` : '—',
  }));
  const columns = [...new Set(values.map((v) => v.evalSet))];
  const y = { field: 'source', type: 'nominal', title: null, sort: rows.map((r) => rowLabel(layout, r)), axis: { labelLimit: 330, labelFontSize: 11 } };
  const x = { field: 'evalSet', type: 'nominal', title: null, sort: columns, axis: { orient: 'top', labelAngle: -30, labelLimit: 320, labelFontSize: 11 } };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `Error slope ratio b(synthetic) / b(${a.realSource}) per eval set`,
      subtitle: 'below 1 (red): scales worse than real data; above 1 (blue): better; —: a slope withheld. Intervals: the Comparison tables.',
      anchor: 'start',
      fontSize: 14,
    },
    background: 'white',
    padding: 12,
    data: { values },
    width: Math.max(240, 64 * columns.length),
    height: 20 * rows.length,
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: {
          x,
          y,
          color: { field: 'ratio', type: 'quantitative', title: 'ratio', scale: { scheme: 'redblue', domainMid: 1, domain: [0, 2], clamp: true }, legend: null },
          tooltip: [{ field: 'source', type: 'nominal' }, { field: 'evalSet', type: 'nominal', title: 'eval set' }, { field: 'text', title: 'ratio' }, { field: 'ci', title: '95% CI' }],
        },
      },
      {
        mark: { type: 'text', fontSize: 11 },
        encoding: {
          x,
          y,
          text: { field: 'text' },
          color: { condition: { test: 'datum.ratio !== null && (datum.ratio < 0.35 || datum.ratio > 1.65)', value: 'white' }, value: '#222' },
        },
      },
    ],
    config: { font: 'Helvetica, Arial, sans-serif', view: { stroke: null }, axis: { labelLimit: 330 }, title: { subtitleFontSize: 11, subtitleColor: '#555' } },
  };
  return spec as unknown as TopLevelSpec;
}
