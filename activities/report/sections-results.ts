// The report's measured sections: title, method, headline slopes, the figure, sources and results
// per N (the fits and the comparison to real data: sections-fits.ts).
import type { SourceSummary } from '../../contracts/types.js';
import type { SweepAnalysis } from '../../contracts/analysis.js';
import { heading, joinText, list, md, paragraph, table, type Block, type Text } from './document.js';
import { ci, duration, perEvalSet, slopeText, specDataset } from './format.js';
import { METHOD_SECTION, SCALING_FIGURE } from './figures.js';
import type { ReportMeta } from './render.js';
import { geometryText, type ReportView } from './dataset-view.js';
import { flatLayout, type ReportLayout } from './layout.js';

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

export function headlineSection(a: SweepAnalysis, view?: ReportView, layout: ReportLayout = flatLayout()): Block[] {
  const out: Block[] = [heading(2, 'Headline')];
  const maxN = a.sizes.length > 0 ? Math.max(...a.sizes) : 0;
  const atN = maxN > 0 ? `N=${maxN}` : 'largest N';
  out.push(
    ...perEvalSet(a, (evalSet) => [
      table(
        ['source', 'kind', 'error slope b [95% CI]', 'loss slope b [95% CI]', `accuracy at ${atN}`, `ECE at ${atN}`],
        a.curves
          .filter((c) => c.evalSet === evalSet && layout.shown(c.source))
          .map((c) => {
            const last = c.perN[c.perN.length - 1];
            // The N only where it is not the sweep's largest (a source with fewer images).
            const n = last && last.n !== maxN ? ` (N=${last.n})` : '';
            return [layout.label(c.source), c.kind, slopeText(c.error), slopeText(c.loss), last ? `${ci(last.accuracy)}${n}` : '—', last ? ci(last.ece) : '—'];
          }),
      ),
    ], view),
  );
  const flagged = a.curves.filter((c) => layout.shown(c.source)).flatMap((c) =>
    [c.loss, c.error].filter((m) => m.unreliable).map((m) => md`**${c.source}** (${c.evalSet}), ${m.metric}: ${m.reason ?? 'unreliable'}`),
  );
  if (flagged.length > 0) {
    const intro = paragraph(md`**Slopes withheld.** A dash means the fit exists (see *Fits*) but is not a scaling law or fails a quality gate:`);
    // A long list folds away: a large sweep withholds dozens.
    out.push(...(flagged.length > 8 ? [intro, { kind: 'details', summary: `${flagged.length} slopes withheld`, blocks: [list(flagged)] } as Block] : [intro, list(flagged)]));
  }
  return out;
}

/** Real images the source's generator was fitted on: a count, "unknown" for remote generators, "-" for real data. */
export function generatorRealImages(s: SourceSummary, sources: readonly SourceSummary[]): string {
  if (s.kind === 'real' || s.kind === 'real-pairs') return '-';
  const generated = s.kind === 'mixed' ? sources.find((x) => x.name === s.mix?.synthetic) : s;
  return generated?.generatorRealImages !== undefined ? String(generated.generatorRealImages) : 'unknown';
}

/** From this many sources on, the sources table is folded (the summary and the figure's panels name them). */
const SOURCES_TABLE_OPEN = 12;

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
    foldedIf(a.sources.length >= SOURCES_TABLE_OPEN, `The ${a.sources.length} sources: kind, description, the generator's real images, CFG, prompts, images, generation time`, table(
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
    )),
  ];
}

/** A block, or that block folded under `summary` when `fold`. */
function foldedIf(fold: boolean, summary: string, block: Block): Block {
  return fold ? { kind: 'details', summary, blocks: [block] } : block;
}

export function resultsSection(a: SweepAnalysis, view?: ReportView, layout: ReportLayout = flatLayout()): Block[] {
  return [
    heading(2, 'Results per N'),
    paragraph('Mean ± 95% CI half-width over seeds, one row per source and one column per N. Error = 1 − accuracy. ECE: expected calibration error (15 bins).'),
    ...perEvalSet(a, (evalSet) => {
      const curves = a.curves.filter((c) => c.evalSet === evalSet && layout.shown(c.source));
      const pivot = (metric: 'accuracy' | 'loss' | 'ece') =>
        table(
          ['source', ...a.sizes.map((n) => `N=${n}`)],
          curves.map((c) => [
            layout.label(c.source),
            ...a.sizes.map((n) => {
              const p = c.perN.find((x) => x.n === n);
              return p ? ci(p[metric]) : '—';
            }),
          ]),
        );
      const seeds = [...new Set(curves.flatMap((c) => c.perN.map((p) => p.seeds)))];
      return [
        paragraph(md`**Top-1 accuracy**${seeds.length === 1 ? ` (${seeds[0]} seeds per cell)` : ` (seeds per cell: ${seeds.join(', ')})`}`),
        pivot('accuracy'),
        { kind: 'details', summary: 'Test loss and ECE per N', blocks: [paragraph(md`**Test loss**`), pivot('loss'), paragraph(md`**ECE**`), pivot('ece')] },
      ];
    }, view),
  ];
}

export function figureSection(faceted = false): Block[] {
  if (faceted) {
    return [
      heading(2, 'Figure'),
      paragraph(
        'Small multiples on the clean eval set, one panel per combination of the factors the synthetic sources vary along, colour for the last one; ' +
          'the real source in black in every panel, the real, control and mixed sources in a panel of their own. Log-log axes, one y scale per metric. ' +
          'Points: mean over seeds; bars: 95% CI over seeds; lines: fitted power law (omitted for curves flagged unreliable). The shifted eval sets are in the slope-ratio heatmap and the tables.',
      ),
      { kind: 'figure', file: SCALING_FIGURE.file, alt: 'scaling', raster: SCALING_FIGURE.raster },
    ];
  }
  return [
    heading(2, 'Figure'),
    paragraph(
      'Log-log axes. Points: mean over seeds (slightly offset horizontally per source so error bars do not overlap); ' +
        'shaded bands and bars: 95% CI over seeds; dashed: fitted power law (omitted for curves flagged unreliable).',
    ),
    { kind: 'figure', file: SCALING_FIGURE.file, alt: 'scaling', raster: SCALING_FIGURE.raster },
  ];
}

