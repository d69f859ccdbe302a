// Formatting shared by the report's sections: numbers, intervals, durations, slopes, and one
// part per eval set.
import type { MetricScaling, PercentileInterval, SweepAnalysis, WithholdReason } from '../../contracts/analysis.js';
import type { MeanCI } from '../../core/stats/student-t.js';
import { md, type Block, type Text } from './document.js';
import type { ReportView } from './dataset-view.js';

/** Fixed decimals, exponent notation when very large or small; a dash when missing. */
export function num(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)) return x.toExponential(digits - 1);
  return x.toFixed(digits);
}

/** `digits` significant digits, trailing zeros dropped; a dash when missing. */
export function sig(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return Number(x.toPrecision(digits)).toString();
}

/** Mean ± 95% CI half-width, or the mean marked as one seed's. */
export function ci(m: MeanCI, digits = 3): string {
  if (m.degenerate) return `${num(m.mean, digits)} (1 seed)`;
  return `${num(m.mean, digits)} ± ${num(m.halfWidth, digits)}`;
}

export function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${num(x)}`;
}

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return h > 0 ? `${h} h ${m} min ${s} s` : `${m} min ${s} s`;
}

/** A bootstrap interval as [lo, hi], "open" for an unbounded end; a dash when there is none. */
export function interval(ci: PercentileInterval | null | undefined, digits = 3): string {
  if (!ci) return '—';
  const end = (x: number | null) => (x === null ? 'open' : num(x, digits));
  return `[${end(ci.lo)}, ${end(ci.hi)}]`;
}

/** A value with its bootstrap interval: "0.512 [0.43, 0.60]"; a dash when the value is missing. */
export function withInterval(value: number | null | undefined, ci: PercentileInterval | null | undefined, format: (x: number) => string = (x) => num(x)): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return ci ? `${format(value)} ${interval(ci)}` : format(value);
}

const WITHHELD: Record<WithholdReason, string> = {
  'not-monotone': 'not monotone',
  'no-decay': 'does not decay',
  'no-fit': 'no fit',
  'few-sizes': 'too few N',
  'narrow-span': 'N span too narrow',
  'poor-fit': 'poor fit',
};

/** Why a slope is withheld, in a few words ("not monotone, too few N"). */
export function withheldText(m: MetricScaling): string {
  return m.withheldBy.map((w) => WITHHELD[w]).join(', ') || 'unreliable';
}

/** The headline slope with its CI, or a dash saying why it is withheld. */
export function slopeText(m: MetricScaling): string {
  if (m.scalingSlope !== null) {
    const c = m.scalingSlopeCI95;
    return c ? `${num(m.scalingSlope)} [${num(c[0])}, ${num(c[1])}]` : num(m.scalingSlope);
  }
  if (!m.fit) return '— (no fit)';
  return `— (withheld: ${withheldText(m)})`;
}

/** The spec's dataset name, when the spec has one. */
export function specDataset(spec: unknown): string | null {
  if (spec && typeof spec === 'object' && 'dataset' in spec) {
    const d = (spec as { dataset: unknown }).dataset;
    if (typeof d === 'string') return d;
  }
  return null;
}

/** Distinct values, ascending. */
export function sortedUnique(values: number[]): number[] {
  return [...new Set(values)].sort((p, q) => p - q);
}

/** An eval set's heading: its name, and for another dataset's eval set that dataset's title and split. */
export function evalSetHeading(evalSet: string, view?: ReportView): Text {
  const e = view?.evalSets.find((x) => x.name === evalSet);
  if (e?.kind === 'dataset') return md`Eval set \`${evalSet}\`: ${e.dataset?.title ?? 'another dataset'}, split ${e.split ?? '?'}`;
  return md`Eval set \`${evalSet}\``;
}

/** An eval set's heading as plain text (a details summary): as evalSetHeading, without markup. */
export function evalSetSummary(evalSet: string, view?: ReportView): string {
  const e = view?.evalSets.find((x) => x.name === evalSet);
  if (e?.kind === 'dataset') return `Eval set ${evalSet}: ${e.dataset?.title ?? 'another dataset'}, split ${e.split ?? '?'}`;
  return `Eval set ${evalSet}${e?.kind === 'ood' ? ' (shifted)' : ''}`;
}

/**
 * One part per eval set; with several eval sets each is folded under its name (a details block),
 * the first one open, so a sweep with many eval sets stays a page one can scroll. Empty parts are left out.
 */
export function perEvalSet(a: SweepAnalysis, part: (evalSet: string) => Block[], view?: ReportView): Block[] {
  const parts = a.evalSets.map((evalSet) => ({ evalSet, blocks: part(evalSet) })).filter((p) => p.blocks.length > 0);
  if (a.evalSets.length === 1) return parts.flatMap((p) => p.blocks);
  return parts.map((p, i): Block => ({ kind: 'details', summary: evalSetSummary(p.evalSet, view), blocks: p.blocks, ...(i === 0 ? { open: true } : {}) }));
}
