// The report's measured sections: title, method, headline slopes, the figure, sources and results
// per N (the fits and the comparison to real data: sections-fits.ts).
import type { SourceSummary } from '../../contracts/types.js';
import type { SweepAnalysis } from '../../contracts/analysis.js';
import { heading, joinText, list, md, paragraph, table, type Block, type Text } from './document.js';
import { ci, duration, perEvalSet, slopeText, specDataset } from './format.js';
import { METHOD_SECTION, SCALING_FIGURE } from './figures.js';
import type { ReportMeta } from './render.js';
import { geometryText, type ReportView } from './dataset-view.js';

/** The title and the sweep's facts in one line: what the Findings section comes right after. */
export function titleSection(a: SweepAnalysis, meta: ReportMeta, view?: ReportView): Block[] {
  const dataset = view?.dataset?.title ?? specDataset(meta.spec);
  const geometry = view?.dataset?.geometry;
  const facts: Text[] = [
    `Generated ${meta.generatedAt}`,
    ...(dataset ? [md`dataset \`${dataset}\`${geometry ? ` (${geometryText(geometry)}, ${view?.dataset?.classes?.length ?? '?'} classes)` : ''}`] : []),
    `${a.cellCount} evaluated cells`,
    `N = ${a.sizes.join(', ') || '—'}`,
    `seeds = ${a.seeds.join(', ') || '—'} (${a.settings.seedDraws === 'data' ? 'each redraws the data' : 'initialisation only'})`,
    `eval sets: ${a.evalSets.join(', ') || '—'}`,
    ...(meta.cacheHits !== undefined ? [`cache hits: ${meta.cacheHits}`] : []),
  ];
  return [heading(1, `Scaling report: ${meta.sweepId}`), paragraph(md`${joinText(facts, ' · ')}.`)];
}

/** What is fitted, and how its intervals are computed. */
export function methodSection(a: SweepAnalysis): Block[] {
  const g = a.settings.analysis;
  return [
    heading(2, METHOD_SECTION),
    paragraph(
      'Each classifier is trained on N images of one source and evaluated on real test data. The scaling exponent b ' +
        'is fitted as y = a·N^(−b) by least squares in log-log space over the per-N means (one point per N); larger b means the ' +
        'source keeps paying off as it grows. Per-N intervals are 95% Student-t intervals over seeds.',
    ),
    paragraph(`${a.settings.intervals} ${a.settings.variance}`),
    paragraph(
      `A headline slope is withheld (as for a curve that is not monotone) when the curve has fewer than ${g.minSizes} distinct N, ` +
        `spans less than ${g.minDecades} decades of N, or its power law fits the per-N means with log-space R² below ${g.minR2}; ` +
        'every ratio and real-data equivalent built on it is withheld too.',
    ),
  ];
}

export function headlineSection(a: SweepAnalysis, view?: ReportView): Block[] {
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
    ], view),
  );
  const flagged = a.curves.flatMap((c) =>
    [c.loss, c.error].filter((m) => m.unreliable).map((m) => md`**${c.source}** (${c.evalSet}), ${m.metric}: ${m.reason ?? 'unreliable'}`),
  );
  if (flagged.length > 0) {
    out.push(paragraph(md`**Slopes withheld.** A dash means the fit exists (see *Fits*) but is not a scaling law or fails a quality gate:`), list(flagged));
  }
  return out;
}

/** Real images the source's generator was fitted on: a count, "unknown" for remote generators, "-" for real data. */
export function generatorRealImages(s: SourceSummary, sources: readonly SourceSummary[]): string {
  if (s.kind === 'real' || s.kind === 'real-pairs') return '-';
  const generated = s.kind === 'mixed' ? sources.find((x) => x.name === s.mix?.synthetic) : s;
  return generated?.generatorRealImages !== undefined ? String(generated.generatorRealImages) : 'unknown';
}

export function sourcesSection(a: SweepAnalysis): Block[] {
  const pairLabels = (p: NonNullable<SourceSummary['pairs']>) =>
    `own captions (${p.inputShards} img2dataset shards; class from metadata ${p.labels.metadata}, from caption ${p.labels.caption}, none ${p.labels.unlabeled})`;
  return [
    heading(2, 'Sources'),
    paragraph(
      "Real images the generator saw: how many real training images the source's generator was fitted on (a mixed source: its synthetic part's), " +
        'drawn from a part of the training split disjoint from every real pool of the sweep; unknown for remote generators. A control source is the real ' +
        "source's images passed through the generator's representation (PCA projection and reconstruction).",
    ),
    table(
      ['source', 'kind', 'description', 'real images the generator saw', 'CFG', 'prompts', 'images', 'generation time'],
      a.sources.map((s) => [
        s.name,
        s.kind,
        s.description,
        generatorRealImages(s, a.sources),
        s.cfgScale !== undefined ? String(s.cfgScale) : '—',
        s.promptProvenance ?? s.promptStrategy ?? (s.pairs ? pairLabels(s.pairs) : '—'),
        String(s.images),
        s.generationSeconds !== undefined ? duration(s.generationSeconds) : '—',
      ]),
    ),
  ];
}

export function resultsSection(a: SweepAnalysis, view?: ReportView): Block[] {
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
    }, view),
  ];
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

