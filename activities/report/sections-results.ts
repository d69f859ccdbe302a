// The report's measured sections: intro, headline slopes, the figure, sources, results per N,
// fits, and the comparison to real data.
import type { SourceSummary } from '../../contracts/types.js';
import type { SweepAnalysis } from '../../contracts/analysis.js';
import { heading, joinText, list, md, paragraph, table, type Block, type Text } from './document.js';
import { ci, duration, num, perEvalSet, sig, signed, slopeText, sortedUnique, specDataset } from './format.js';
import { SCALING_FIGURE } from './figures.js';
import type { ReportMeta } from './render.js';

export function introSection(a: SweepAnalysis, meta: ReportMeta): Block[] {
  const dataset = specDataset(meta.spec);
  const facts: Text[] = [
    `Generated ${meta.generatedAt}`,
    ...(dataset ? [md`dataset \`${dataset}\``] : []),
    `${a.cellCount} evaluated cells`,
    `N = ${a.sizes.join(', ') || '—'}`,
    `seeds = ${a.seeds.join(', ') || '—'}`,
    `eval sets: ${a.evalSets.join(', ') || '—'}`,
    ...(meta.cacheHits !== undefined ? [`cache hits: ${meta.cacheHits}`] : []),
  ];
  return [
    heading(1, `Scaling report: ${meta.sweepId}`),
    paragraph(md`${joinText(facts, ' · ')}.`),
    paragraph(
      'Each classifier is trained on N images of one source and evaluated on real test data. The scaling exponent b ' +
        'is fitted as y = a·N^(−b) by least squares in log-log space over all per-seed points; larger b means the ' +
        'source keeps paying off as it grows. Intervals are 95% Student-t intervals over seeds.',
    ),
  ];
}

export function headlineSection(a: SweepAnalysis): Block[] {
  const out: Block[] = [heading(2, 'Headline')];
  out.push(
    ...perEvalSet(a, (evalSet) => [
      table(
        ['source', 'kind', 'error slope b [95% CI]', 'loss slope b [95% CI]', 'accuracy at largest N', 'ECE at largest N'],
        a.curves
          .filter((c) => c.evalSet === evalSet)
          .map((c) => {
            const last = c.perN[c.perN.length - 1];
            return [c.source, c.kind, slopeText(c.error), slopeText(c.loss), last ? `${ci(last.accuracy)} (N=${last.n})` : '—', last ? ci(last.ece) : '—'];
          }),
      ),
    ]),
  );
  const flagged = a.curves.flatMap((c) =>
    [c.loss, c.error].filter((m) => m.unreliable).map((m) => md`**${c.source}** (${c.evalSet}), ${m.metric}: ${m.reason ?? 'unreliable'}`),
  );
  if (flagged.length > 0) {
    out.push(paragraph(md`**Slopes withheld.** A dash means the fit exists (see *Fits*) but is not a scaling law:`), list(flagged));
  }
  return out;
}

export function sourcesSection(a: SweepAnalysis): Block[] {
  const pairLabels = (p: NonNullable<SourceSummary['pairs']>) =>
    `own captions (${p.inputShards} img2dataset shards; class from metadata ${p.labels.metadata}, from caption ${p.labels.caption}, none ${p.labels.unlabeled})`;
  return [
    heading(2, 'Sources'),
    table(
      ['source', 'kind', 'description', 'CFG', 'prompts', 'images', 'generation time'],
      a.sources.map((s) => [
        s.name,
        s.kind,
        s.description,
        s.cfgScale !== undefined ? String(s.cfgScale) : '—',
        s.promptProvenance ?? s.promptStrategy ?? (s.pairs ? pairLabels(s.pairs) : '—'),
        String(s.images),
        s.generationSeconds !== undefined ? duration(s.generationSeconds) : '—',
      ]),
    ),
  ];
}

export function resultsSection(a: SweepAnalysis): Block[] {
  return [
    heading(2, 'Results per N'),
    paragraph('Mean ± 95% CI half-width over seeds. Error = 1 − accuracy. ECE: expected calibration error (15 bins).'),
    ...perEvalSet(a, (evalSet) => {
      const curves = a.curves.filter((c) => c.evalSet === evalSet);
      const rows = a.sizes.flatMap((n) =>
        curves.flatMap((c) => {
          const p = c.perN.find((x) => x.n === n);
          return p ? [[String(n), c.source, String(p.seeds), ci(p.accuracy), ci(p.loss), ci(p.ece)]] : [];
        }),
      );
      return [table(['N', 'source', 'seeds', 'top-1 accuracy', 'test loss', 'ECE'], rows)];
    }),
  ];
}

export function fitsSection(a: SweepAnalysis): Block[] {
  return [
    heading(2, 'Fits'),
    paragraph(
      'Plain fit: y = a·N^(−b), log-log least squares (R² and RMSE in log space; slope CI from the regression\'s ' +
        'standard error, needs ≥ 3 distinct N). Offset fit: y = c + a·N^(−b) with the floor c in [0, min y), ' +
        'profiled over c (R² in linear space); "no" means the floor is not identified (c at a boundary, b ≤ 0 or < 4 distinct N).',
    ),
    ...perEvalSet(a, (evalSet) => {
      const curves = a.curves.filter((x) => x.evalSet === evalSet);
      const rows = curves.flatMap((c) =>
        [c.error, c.loss].map((m): Text[] => {
          const f = m.fit;
          const o = m.offsetFit;
          return [
            c.source,
            m.metric,
            f ? num(f.b) : '—',
            f?.slopeCI95 ? `[${num(f.slopeCI95[0])}, ${num(f.slopeCI95[1])}]` : '—',
            f ? sig(f.a, 4) : '—',
            f ? num(f.r2) : '—',
            f ? num(f.rmse) : '—',
            m.monotone ? 'yes' : md`**no**`,
            o ? num(o.c) : '—',
            o ? num(o.b) : '—',
            o ? (o.converged ? 'yes' : 'no') : '—',
            m.unreliable ? `⚠ unreliable: ${m.reason ?? ''}` : 'ok',
          ];
        }),
      );
      const offsetReasons = curves.flatMap((c) =>
        [c.error, c.loss]
          .filter((m) => (m.offsetFit && !m.offsetFit.converged) || m.offsetFitError)
          .map((m) => `${c.source}, ${m.metric}: ${m.offsetFit?.reason ?? m.offsetFitError ?? ''}`),
      );
      return [
        table(['source', 'metric', 'b', 'b 95% CI', 'a', 'R² (log)', 'RMSE (log)', 'monotone', 'offset c', 'offset b', 'offset converged', 'status'], rows),
        ...(offsetReasons.length > 0 ? [paragraph('Offset fits not converged:'), list(offsetReasons)] : []),
      ];
    }),
  ];
}

export function comparisonSection(a: SweepAnalysis): Block[] {
  const out: Block[] = [heading(2, 'Comparison to real data')];
  if (a.realSource === null || a.comparisons.length === 0) {
    out.push(paragraph(a.realSource === null ? 'No real source in this sweep: nothing to compare against.' : 'No synthetic source to compare.'));
    return out;
  }
  const realSource = a.realSource;
  out.push(
    paragraph(
      `Slope ratio = b(synthetic) / b(${realSource}); below 1 means the synthetic source scales worse than real data. ` +
        'Accuracy gap = accuracy(synthetic) − accuracy(real) at the same N (negative: synthetic is behind).',
    ),
  );
  const roundN = (x: number | null) => (x === null ? '—' : x >= 100 ? String(Math.round(x)) : x.toFixed(1));
  out.push(
    ...perEvalSet(a, (evalSet) => {
      const comps = a.comparisons.filter((c) => c.evalSet === evalSet);
      if (comps.length === 0) return [];
      const ns = sortedUnique(comps.flatMap((c) => c.accuracyGap.map((g) => g.n)));
      const notes = comps.flatMap((c) => c.notes.map((n) => `${c.source}: ${n}`));
      const effectiveNs = sortedUnique(comps.flatMap((c) => c.effectiveRealN.map((e) => e.n)));
      return [
        table(
          ['source', 'error slope ratio', 'loss slope ratio', ...ns.map((n) => `gap @ N=${n}`)],
          comps.map((c) => [
            c.source,
            c.errorSlopeRatio !== null ? num(c.errorSlopeRatio) : '—',
            c.lossSlopeRatio !== null ? num(c.lossSlopeRatio) : '—',
            ...ns.map((n) => {
              const g = c.accuracyGap.find((x) => x.n === n);
              return g ? signed(g.gap) : '—';
            }),
          ]),
        ),
        ...(notes.length > 0 ? [list(notes)] : []),
        paragraph(
          md`**Effective real-data equivalent**: how many real images reach the same error (loss) as N images of the source, from ${realSource}'s fitted power law (— where that fit is withheld; * = outside the real curve's measured N, extrapolated).`,
        ),
        table(
          ['source', ...effectiveNs.map((n) => `N=${n}: error (loss)`)],
          comps.map((c) => [
            c.source,
            ...effectiveNs.map((n) => {
              const e = c.effectiveRealN.find((x) => x.n === n);
              return e ? `${roundN(e.byError)} (${roundN(e.byLoss)})${e.extrapolated ? '*' : ''}` : '—';
            }),
          ]),
        ),
      ];
    }),
  );
  return out;
}

export function figureSection(): Block[] {
  return [
    heading(2, 'Figure'),
    paragraph(
      'Log-log axes. Points: mean over seeds (slightly offset horizontally per source so error bars do not overlap); ' +
        'shaded bands and bars: 95% CI over seeds; dashed: fitted power law (omitted for curves flagged unreliable).',
    ),
    { kind: 'figure', file: SCALING_FIGURE.file, alt: 'scaling', raster: SCALING_FIGURE.raster },
  ];
}

