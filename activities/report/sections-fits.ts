// The report's fit sections: each curve's fits with their intervals, held-out checks and offset
// fits, and each source against real data (slope ratios, accuracy gaps, real-data equivalents).
import type { MetricScaling, SweepAnalysis } from '../../contracts/analysis.js';
import { heading, list, md, paragraph, table, type Block, type Text } from './document.js';
import { EVIDENCE_SECTIONS } from './figures.js';
import { interval, num, perEvalSet, sig, signed, sortedUnique, withInterval } from './format.js';
import type { ReportView } from './dataset-view.js';
import { flatLayout, type ReportLayout } from './layout.js';

/** One metric's row of the fits table: the plain fit and its checks. */
function fitRow(source: string, m: MetricScaling, maxN: number): Text[] {
  const f = m.fit;
  const h = m.holdout;
  return [
    source,
    m.metric,
    f ? num(f.b) : '—',
    f?.slopeCI95 ? `[${num(f.slopeCI95[0])}, ${num(f.slopeCI95[1])}]` : '—',
    interval(m.slopeBootstrapCI95),
    f ? sig(f.a, 4) : '—',
    f ? num(f.r2) : '—',
    // The held-out N only where it is not the sweep's largest.
    h ? `${h.relativeError >= 0 ? '+' : ''}${(100 * h.relativeError).toFixed(1)}%${h.n !== maxN ? ` (N=${h.n})` : ''}` : '—',
    m.monotone ? 'yes' : md`**no**`,
    m.unreliable ? `⚠ withheld: ${m.reason ?? ''}` : 'ok',
  ];
}

const FIT_HEADER = ['source', 'metric', 'b', 'b t CI', 'b boot. CI', 'a', 'R² (log)', 'held out (largest N)', 'monotone', 'status'];

/** One metric's row of the offset-fit table. */
function offsetRow(source: string, m: MetricScaling): Text[] {
  const o = m.offsetFit;
  return [source, m.metric, o ? num(o.c) : '—', o ? withInterval(o.b, m.offsetExponentCI95) : '—', o ? (m.offsetUnidentified ? md`**unidentified**` : 'yes') : '—'];
}

export function fitsSection(a: SweepAnalysis, view?: ReportView, layout: ReportLayout = flatLayout()): Block[] {
  return [
    heading(2, 'Fits'),
    paragraph(
      'Plain fit: y = a·N^(−b) by least squares in log-log space over the per-N means (R² in log space); "t CI": the Student-t 95% interval ' +
        'on (distinct N − 2) degrees of freedom (needs ≥ 3 distinct N); "bootstrap CI": the percentile interval of b over the seed bootstrap. ' +
        'Held out: the plain fit without the largest N predicts it; the cell is (prediction − mean) / mean. Offset fit: y = c + a·N^(−b) by least ' +
        'squares in linear space with the floor c in [0, min y]; its b carries a bootstrap interval, "open" where draws hit the ' +
        'search bounds of b or failed, and such an exponent is unidentified.',
    ),
    ...perEvalSet(a, (evalSet) => {
      const curves = a.curves.filter((x) => x.evalSet === evalSet && layout.shown(x.source));
      const maxN = Math.max(0, ...a.sizes);
      const errorRows = curves.map((c) => fitRow(layout.label(c.source), c.error, maxN));
      const lossRows = curves.map((c) => fitRow(layout.label(c.source), c.loss, maxN));
      const offsetRows = curves.flatMap((c) => [c.error, c.loss].map((m) => offsetRow(layout.label(c.source), m)));
      const offsetReasons = curves.flatMap((c) =>
        [c.error, c.loss]
          .filter((m) => (m.offsetFit && !m.offsetFit.converged) || m.offsetFitError)
          .map((m) => `${c.source}, ${m.metric}: ${m.offsetFit?.reason ?? m.offsetFitError ?? ''}`),
      );
      return [
        // Two narrow tables rather than one of 13 columns: each reads at 800 px.
        table(FIT_HEADER, errorRows),
        { kind: 'details', summary: 'Loss fits', blocks: [table(FIT_HEADER, lossRows)] },
        {
          kind: 'details',
          summary: 'Offset fits y = c + a·N^(−b)',
          blocks: [table(['source', 'metric', 'offset c', 'offset b [CI]', 'offset b identified'], offsetRows), ...(offsetReasons.length > 0 ? [paragraph('Offset fits not converged:'), list(offsetReasons)] : [])],
        },
      ];
    }, view),
  ];
}

/** A real-data equivalent, rounded: whole images from 100 on. */
function roundN(x: number | null): string {
  return x === null ? '—' : x >= 100 ? String(Math.round(x)) : x.toFixed(1);
}

/** The slope-ratio and gap table, then the real-data equivalents, on one eval set. */
function comparisonPart(a: SweepAnalysis, evalSet: string, realSource: string, layout: ReportLayout): Block[] {
  const comps = a.comparisons.filter((c) => c.evalSet === evalSet && layout.shown(c.source));
  if (comps.length === 0) return [];
  const ns = sortedUnique(comps.flatMap((c) => c.accuracyGap.map((g) => g.n)));
  const notes = comps.flatMap((c) => c.notes.map((n) => `${c.source}: ${n}`));
  const effectiveNs = sortedUnique(comps.flatMap((c) => c.effectiveRealN.map((e) => e.n)));
  return [
    table(
      ['source', 'error slope ratio [95% CI]', 'loss slope ratio [95% CI]'],
      comps.map((c) => [layout.label(c.source), withInterval(c.errorSlopeRatio, c.errorSlopeRatioCI95), withInterval(c.lossSlopeRatio, c.lossSlopeRatioCI95)]),
    ),
    {
      kind: 'details',
      summary: 'Accuracy gaps to real data per N',
      blocks: [
        table(
          ['source', ...ns.map((n) => `gap @ N=${n} [95% CI]`)],
          comps.map((c) => [
            layout.label(c.source),
            ...ns.map((n) => {
              const g = c.accuracyGap.find((x) => x.n === n);
              return g ? withInterval(g.gap, g.ci95, signed) : '—';
            }),
          ]),
        ),
      ],
    },
    ...(notes.length > 0 ? [list(notes)] : []),
    { kind: 'details', summary: 'Effective real-data equivalents', blocks: [
    paragraph(
      md`**Effective real-data equivalent**: how many real images reach the same error (loss) as N images of the source, from ${realSource}'s fitted power law, with its bootstrap 95% interval (— where that fit is withheld; * = outside the real curve's measured N, extrapolated).`,
    ),
    table(
      ['source', ...effectiveNs.map((n) => `N=${n}: error [CI] (loss)`)],
      comps.map((c) => [
        layout.label(c.source),
        ...effectiveNs.map((n) => {
          const e = c.effectiveRealN.find((x) => x.n === n);
          if (!e) return '—';
          const ci = e.byErrorCI95 ? ` [${e.byErrorCI95.lo === null ? 'open' : roundN(e.byErrorCI95.lo)}, ${e.byErrorCI95.hi === null ? 'open' : roundN(e.byErrorCI95.hi)}]` : '';
          return `${roundN(e.byError)}${ci} (${roundN(e.byLoss)})${e.extrapolated ? '*' : ''}`;
        }),
      ]),
    ),
    ] },
  ];
}

export function comparisonSection(a: SweepAnalysis, view?: ReportView, layout: ReportLayout = flatLayout()): Block[] {
  const out: Block[] = [heading(2, EVIDENCE_SECTIONS.comparison)];
  if (a.realSource === null || a.comparisons.length === 0) {
    out.push(paragraph(a.realSource === null ? 'No real source in this sweep: nothing to compare against.' : 'No synthetic source to compare.'));
    return out;
  }
  const realSource = a.realSource;
  out.push(
    paragraph(
      `Slope ratio = b(synthetic) / b(${realSource}); below 1 means the synthetic source scales worse than real data. ` +
        'Accuracy gap = accuracy(synthetic) − accuracy(real) at the same N (negative: synthetic is behind). Intervals: the seed bootstrap (see Method).',
    ),
  );
  out.push(...perEvalSet(a, (evalSet) => comparisonPart(a, evalSet, realSource, layout), view));
  return out;
}
