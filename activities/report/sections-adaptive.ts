// The report's "Adaptive sweep" section (spec.adaptive): which targets were met and with how many
// cells, every decision in order with its reason, and a figure of each target's interval
// half-width (as a multiple of the half-width wanted) against the cells spent.
import type { TopLevelSpec } from 'vega-lite';
import type { DecisionDocument, TargetInterval } from '../../contracts/adaptive-run.js';
import { toSvg } from './charts.js';
import { heading, list, paragraph, table, type Block, type Text } from './document.js';

export const ADAPTIVE_FIGURE = { file: 'adaptive-widths.svg', raster: 'adaptive-widths.png' } as const;

function num(x: number | null, digits = 3): string {
  return x === null || !Number.isFinite(x) ? '—' : Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(digits);
}

function intervalText(t: TargetInterval): Text {
  if (t.halfWidth === null) return `no interval${t.reason ? ` (${t.reason})` : ''}`;
  return `${num(t.estimate)} [${num(t.lo)}, ${num(t.hi)}], ±${num(t.halfWidth, 2)}`;
}

/** One point per (round, target): the cells spent when the round's decision measured it, and its width / wanted. */
export function widthRows(decisions: readonly DecisionDocument[]): { cells: number; round: number; target: string; ratio: number }[] {
  return decisions.flatMap((d) =>
    d.decision.intervals.flatMap((t) => (t.halfWidth === null ? [] : [{ cells: d.decision.spent.cells, round: d.round, target: t.label, ratio: t.halfWidth / t.wanted }])),
  );
}

export function adaptiveWidthChart(decisions: readonly DecisionDocument[]): TopLevelSpec | null {
  const rows = widthRows(decisions);
  if (rows.length === 0) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 520,
    height: 260,
    title: 'Interval half-width / half-width wanted, by cells spent',
    layer: [
      {
        data: { values: rows },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'cells', type: 'quantitative', title: 'cells spent (when the decision measured it)' },
          y: { field: 'ratio', type: 'quantitative', scale: { type: 'log' }, title: 'half-width / wanted (log)' },
          color: { field: 'target', type: 'nominal', title: 'target' },
        },
      },
      { data: { values: [{ y: 1 }] }, mark: { type: 'rule', strokeDash: [4, 4], color: 'black' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
    ],
  };
}

export async function renderAdaptiveSvg(decisions: readonly DecisionDocument[] | undefined): Promise<string | null> {
  const spec = decisions ? adaptiveWidthChart(decisions) : null;
  return spec ? toSvg(spec) : null;
}

export function adaptiveSections(decisions: readonly DecisionDocument[] | undefined, hasFigure: boolean): Block[] {
  if (!decisions || decisions.length === 0) return [];
  const last = decisions[decisions.length - 1]!;
  const { stop, spent, intervals } = last.decision;
  const met = intervals.filter((t) => t.met).length;
  const steered = decisions.some((d, i) => i > 0 && JSON.stringify(d.targets) + JSON.stringify(d.budget) !== JSON.stringify(decisions[i - 1]!.targets) + JSON.stringify(decisions[i - 1]!.budget));
  const out: Block[] = [
    heading(2, 'Adaptive sweep'),
    paragraph(
      `The sweep chose its own cells after a first grid: ${decisions.length} decisions, ${spent.cells} cells (${spent.images.toLocaleString('en-US')} training images) in all. ` +
        `${met} of ${intervals.length} targets met; it stopped because ${stop ? `${stop.reason}: ${stop.detail}` : 'the last decision was still running cells'}.` +
        (steered ? ' Targets or budget were changed while it ran (sweep steer): each decision below lists what it was taken on.' : ''),
    ),
    paragraph(
      'Intervals are those of the honest-measurement rules: per-N means and a bootstrap over seeds that redraw the data, widened to cover N-level scatter; predicted widths only ranked the candidate cells.',
    ),
    table(
      ['target', 'interval now', 'half-width wanted', 'met', 'method'],
      intervals.map((t) => [t.label, intervalText(t), num(t.wanted, 2), t.met ? 'yes' : 'no', t.method]),
    ),
  ];
  if (hasFigure) out.push({ kind: 'figure', file: ADAPTIVE_FIGURE.file, alt: 'interval width against cells spent', raster: ADAPTIVE_FIGURE.raster });
  out.push(heading(3, 'Decisions, in order'));
  for (const d of decisions) {
    const head = `Round ${d.round} (after ${d.decision.spent.cells} cells, ${d.decision.spent.images.toLocaleString('en-US')} images): `;
    if (d.decision.stop) {
      out.push(paragraph(`${head}stop — ${d.decision.stop.reason}: ${d.decision.stop.detail}`));
      continue;
    }
    out.push(paragraph(`${head}${d.decision.cells.length} cells`), list(d.decision.actions.map((a) => `${a.kind} · ${a.source} N=${a.size} seeds ${a.seeds.join(', ')}: ${a.reason}`)));
  }
  return out;
}
