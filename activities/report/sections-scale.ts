// The report's parts for sweeps with many sources: the slope-ratio heatmap, the source legend
// that shows or hides each source's curves (report.html only), and the sources shown once
// because their images are identical.
import type { SweepAnalysis } from '../../contracts/analysis.js';
import { heading, list, md, paragraph, type Block } from './document.js';
import { SLOPE_RATIO_FIGURE, SLOPE_RATIO_SECTION } from './heatmap.js';
import { FACTOR_LABEL, type ReportLayout } from './layout.js';

export function slopeRatioSection(a: SweepAnalysis, layout: ReportLayout): Block[] {
  if (a.realSource === null || !a.comparisons.some((c) => layout.shown(c.source))) return [];
  return [
    heading(2, SLOPE_RATIO_SECTION),
    paragraph(
      md`Each synthetic source's error slope over ${a.realSource}'s, on every eval set: the value in each cell, its 95% bootstrap interval in the comparison tables. Sources with identical images are one row.`,
    ),
    { kind: 'figure', file: SLOPE_RATIO_FIGURE.file, alt: 'slope ratios per source and eval set', raster: SLOPE_RATIO_FIGURE.raster },
  ];
}

/**
 * The legend that picks the sources drawn: checkboxes grouped as the chart's panels are (by the
 * factors the sources vary along), with each group's real and reference sources first.
 */
export function sourceToggles(a: SweepAnalysis, layout: ReportLayout): Block[] {
  const names = [...new Set(a.curves.map((c) => c.source))].filter((s) => layout.shown(s));
  if (names.length < 2) return [];
  const panelFactors = layout.varying.filter((f) => f !== 'cfg');
  const groups = new Map<string, string[]>();
  for (const name of names) {
    const f = layout.factors.get(name);
    const title = layout.factors.size === 0 ? 'sources' : !f ? 'real data and references' : panelFactors.length > 0 ? panelFactors.map((p) => `${FACTOR_LABEL[p]} ${f[p]}`).join(' · ') : 'synthetic';
    groups.set(title, [...(groups.get(title) ?? []), name]);
  }
  const ordered = [...groups.entries()].sort((p, q) => Number(q[0] === 'real data and references') - Number(p[0] === 'real data and references'));
  return [{ kind: 'toggles', label: 'Sources drawn (uncheck to hide a source in the charts)', groups: ordered.map(([title, sources]) => ({ title, sources })) }];
}

/** The groups of sources with identical images, each shown as its first member's row. */
export function sameImagesSection(layout: ReportLayout): Block[] {
  if (layout.groups.length === 0) return [];
  return [
    paragraph(
      md`**Sources with identical images** (the same digest of every image and label, in order): each group is one row in the tables and one curve in the charts, named by all its members.`,
    ),
    list(layout.groups.map((g) => md`${g.label} (${g.note})`)),
  ];
}
