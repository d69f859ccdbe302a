// Renders a SweepAnalysis as a JSON document, one report document (document.ts) written as
// Markdown and as a self-contained HTML page, and the charts (charts.ts) as SVG and PNG.
import type { MetricScaling, SweepAnalysis } from '../../contracts/analysis.js';
import type { MeanCI } from '../../core/stats/powerlaw.js';
import type { SourceSummary } from '../../contracts/types.js';
import { renderChartSvg, renderRecognizabilitySvg } from './charts.js';
import { heading, joinText, list, md, paragraph, table, toMarkdown, type Block, type Text } from './document.js';
import { toHtml, type HtmlFigure } from './html.js';
import { rasterizeSvg, type RasterImage } from './raster.js';
import type { SampleSheet } from './samples.js';

export interface ReportMeta {
  sweepId: string;
  /** The sweep spec, stored verbatim in the JSON and shown in the Markdown. */
  spec: unknown;
  /** Wall-clock seconds per stage (e.g. generate, train, evaluate). */
  stageTimings?: Record<string, number>;
  /** ISO timestamp. */
  generatedAt: string;
  /** Cells whose results came from cache instead of being recomputed. */
  cacheHits?: number;
  notes?: string[];
}

/** What the report shows beyond the analysis: read from storage by the activity. */
export interface ReportExtras {
  /** Contact sheets of each source's first images (samples.ts), real first. */
  sampleSheets?: SampleSheet[];
  /** Why a source has no sheet (its shards could not be read). */
  sampleProblems?: string[];
}

export interface RenderedReport {
  /** { meta, analysis } as pretty-printed JSON. */
  json: string;
  markdown: string;
  /** The same document as one self-contained page (charts inline, images as data: URIs). */
  html: string;
  /** Standalone SVG document; the Markdown links it as scaling.svg. */
  svg: string;
  /** scaling.svg rasterized at 2x (scaling.png). */
  png: RasterImage;
  /** Per-class recognizability bars (recognizability.svg), when the sweep measured it. */
  recognizabilitySvg: string | null;
  recognizabilityPng: RasterImage | null;
}

/** Figure 1 of Fan et al. (CVPR 2024): supervised "scaling ability" slopes on ImageNet-trained classifiers, read off ±0.005. */
export const PAPER_FIGURE1_SLOPES: readonly { source: string; imagenet: number; sketch: number; r: number }[] = [
  { source: 'real', imagenet: 0.528, sketch: 0.239, r: 0.207 },
  { source: 'SD, CLIP templates', imagenet: 0.195, sketch: 0.253, r: 0.308 },
  { source: 'SD, captions', imagenet: 0.245, sketch: 0.162, r: 0.179 },
  { source: 'Muse, captions', imagenet: 0.237, sketch: 0.252, r: 0.227 },
  { source: 'Imagen, captions', imagenet: 0.265, sketch: 0.152, r: 0.189 },
];

export const SCALING_FIGURE = { file: 'scaling.svg', raster: 'scaling.png' } as const;
export const RECOGNIZABILITY_FIGURE = { file: 'recognizability.svg', raster: 'recognizability.png' } as const;

// ---------------------------------------------------------------------------------------------
// Formatting helpers

function num(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)) return x.toExponential(digits - 1);
  return x.toFixed(digits);
}

function sig(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return Number(x.toPrecision(digits)).toString();
}

function ci(m: MeanCI, digits = 3): string {
  if (m.degenerate) return `${num(m.mean, digits)} (1 seed)`;
  return `${num(m.mean, digits)} ± ${num(m.halfWidth, digits)}`;
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${num(x)}`;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return h > 0 ? `${h} h ${m} min ${s} s` : `${m} min ${s} s`;
}

function slopeText(m: MetricScaling): string {
  if (m.scalingSlope !== null) {
    const c = m.scalingSlopeCI95;
    return c ? `${num(m.scalingSlope)} [${num(c[0])}, ${num(c[1])}]` : num(m.scalingSlope);
  }
  if (!m.fit) return '— (no fit)';
  return `— (unreliable${m.monotone ? '' : ': not monotone'})`;
}

function specDataset(spec: unknown): string | null {
  if (spec && typeof spec === 'object' && 'dataset' in spec) {
    const d = (spec as { dataset: unknown }).dataset;
    if (typeof d === 'string') return d;
  }
  return null;
}

/** Distinct values, ascending. */
function sortedUnique(values: number[]): number[] {
  return [...new Set(values)].sort((p, q) => p - q);
}

/** One part per eval set, under an "Eval set" heading when the sweep has several; empty parts are left out. */
function perEvalSet(a: SweepAnalysis, part: (evalSet: string) => Block[]): Block[] {
  return a.evalSets.flatMap((evalSet) => {
    const blocks = part(evalSet);
    if (blocks.length === 0 || a.evalSets.length === 1) return blocks;
    return [heading(3, md`Eval set \`${evalSet}\``), ...blocks];
  });
}

// ---------------------------------------------------------------------------------------------
// Sections

function introSection(a: SweepAnalysis, meta: ReportMeta): Block[] {
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

function headlineSection(a: SweepAnalysis): Block[] {
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

function sourcesSection(a: SweepAnalysis): Block[] {
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

function resultsSection(a: SweepAnalysis): Block[] {
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

function fitsSection(a: SweepAnalysis): Block[] {
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

function comparisonSection(a: SweepAnalysis): Block[] {
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

/** The paper's analyses: OOD evaluation, classifiers vs CLIP, mixing real with synthetic, recognizability. */
function paperSections(a: SweepAnalysis): Block[] {
  const clean = a.evalSets.find((e) => !e.startsWith('ood-'));
  if (!clean) return [...mixingSection(a), ...recognizabilitySection(a)];
  return [...oodSection(a, clean), ...clipSection(a, clean), ...mixingSection(a), ...recognizabilitySection(a)];
}

function oodSection(a: SweepAnalysis, clean: string): Block[] {
  const ood = a.evalSets.filter((e) => e.startsWith('ood-'));
  if (ood.length === 0) return [];
  const sets = [clean, ...ood];
  const cellText = (source: string, evalSet: string) => {
    const c = a.curves.find((x) => x.source === source && x.evalSet === evalSet);
    if (!c) return '—';
    const last = c.perN[c.perN.length - 1];
    const ratio = a.comparisons.find((x) => x.source === source && x.evalSet === evalSet)?.errorSlopeRatio ?? null;
    return `${num(c.error.scalingSlope)} / ${last ? num(last.accuracy.mean) : '—'}${ratio !== null ? ` (×${num(ratio, 2)})` : ''}`;
  };
  return [
    heading(2, 'Out-of-distribution evaluation'),
    paragraph(
      `Each OOD set is the real test split under one deterministic corruption (activities/evaluate/ood.ts). The paper finds ` +
        'synthetic data helps more under shift: there the synthetic/real slope ratio approaches or passes 1. Per source: ' +
        'error slope b, and accuracy at the largest N; ratio = b(source) / b(real) on the same set (— where a slope is withheld).',
    ),
    paragraph('Cells: error slope b / accuracy at the largest N (×ratio to real).'),
    table(
      ['source', ...sets.map((e) => (e === clean ? `${e} (clean)` : e))],
      a.sources.map((s) => [s.name, ...sets.map((e) => cellText(s.name, e))]),
    ),
  ];
}

function clipSection(a: SweepAnalysis, clean: string): Block[] {
  const clipCurves = a.curves.filter((c) => c.source.startsWith('clip:'));
  if (clipCurves.length === 0) return [];
  const accuracyAtLargestN = (name: string) => {
    const curve = a.curves.find((c) => c.source === name && c.evalSet === clean);
    const last = curve?.perN[curve.perN.length - 1];
    return last ? num(last.accuracy.mean) : '—';
  };
  const ratios = a.sources
    .filter((s) => !s.name.startsWith('clip:') && s.kind !== 'real' && s.kind !== 'real-pairs')
    .map((s) => {
      const cls = a.comparisons.find((c) => c.source === s.name && c.evalSet === clean);
      const clip = a.comparisons.find((c) => c.source === `clip:${s.name}` && c.evalSet === clean);
      return [s.name, num(cls?.errorSlopeRatio), num(clip?.errorSlopeRatio), num(cls?.lossSlopeRatio), num(clip?.lossSlopeRatio), accuracyAtLargestN(s.name), accuracyAtLargestN(`clip:${s.name}`)];
    });
  const interval = (m: { mean: number; lo: number; hi: number } | undefined) => (m ? `${num(m.mean)} ± ${num((m.hi - m.lo) / 2)}` : '—');
  return [
    heading(2, 'Classifiers vs CLIP'),
    paragraph(
      joinText(
        [
          'The paper\'s headline: synthetic images scale almost as well as real ones for CLIP (language supervision), and much ',
          md`worse for supervised classifiers. CLIP curves are the \`clip:\` sources: zero-shot top-1 (80-template ensemble) and its `,
          md`loss on the real test split. Slope ratio = b(source) / b(real) within each task, on \`${clean}\`.`,
        ],
        '',
      ),
    ),
    table(['source', 'classifier: error slope ratio', 'CLIP: error slope ratio', 'classifier: loss slope ratio', 'CLIP: loss slope ratio', 'classifier acc', 'CLIP zero-shot acc'], ratios),
    heading(3, 'CLIP: zero-shot templates and linear probe'),
    paragraph(
      joinText(
        [
          'Zero-shot top-1 on the real test split with the 80-template ensemble and with the single template "a photo of a {}.", and ',
          md`the linear probe: a logistic regression on the frozen image trunk's features of 1,000 real training images (100 per class), scored on \`${clean}\`. Mean ± 95% CI over seeds, per N.`,
        ],
        '',
      ),
    ),
    table(
      ['source', 'N', 'ensemble', 'single template', 'linear probe'],
      clipCurves
        .filter((c) => c.evalSet === clean)
        .flatMap((c) => c.perN.map((p) => [c.source.slice('clip:'.length), String(p.n), interval(p.accuracy), interval(p.singleTemplateAccuracy), interval(p.probeAccuracy)])),
    ),
  ];
}

function mixingSection(a: SweepAnalysis): Block[] {
  if (a.mixing.length === 0) return [];
  return [
    heading(2, 'Mixing real and synthetic data'),
    paragraph(
      'A mixed source trains on the same N real images as the real source plus synthetic ones; gain = accuracy(mixed) − ' +
        'accuracy(real only) at equal real N (the paper: synthetic data helps most when real data is scarce).',
    ),
    ...perEvalSet(a, (evalSet) => {
      const mixes = a.mixing.filter((m) => m.evalSet === evalSet);
      if (mixes.length === 0) return [];
      const ns = sortedUnique(mixes.flatMap((m) => m.gains.map((g) => g.n)));
      return [
        table(
          ['source', ...ns.map((n) => `gain @ N=${n}`)],
          mixes.map((m) => [
            `${m.source} (vs ${m.realSource})`,
            ...ns.map((n) => {
              const g = m.gains.find((x) => x.n === n);
              return g ? `${signed(g.gain)} (${num(g.accuracy)} vs ${num(g.realAccuracy)})` : '—';
            }),
          ]),
        ),
      ];
    }),
  ];
}

function recognizabilitySection(a: SweepAnalysis): Block[] {
  const first = a.recognizability[0];
  if (!first) return [];
  const judge = first.judgeTestAccuracy;
  const classes = first.perClass.map((p) => p.className);
  return [
    heading(2, 'Recognizability'),
    paragraph(
      'A judge classifier trained on real images labels each source\'s generated images; recognizability is the fraction ' +
        `labelled as the class they were prompted for${judge !== null ? ` (the judge's own accuracy on the real test split: ${num(judge)}, which caps what it can recognize)` : ''}. ` +
        'The paper attributes synthetic data\'s poor scaling to concepts the generator cannot make; if so, classes with low ' +
        'recognizability should show the largest accuracy gap to real data (gap = per-class accuracy of the synthetic-trained ' +
        'model − the real-trained one, at the largest shared N). See recognizability.svg for the bars.',
    ),
    paragraph('Per class: recognized share (accuracy gap to real).'),
    table(
      ['source', ...classes],
      a.recognizability.map((r) => [
        r.source,
        ...classes.map((_, k) => {
          const p = r.perClass[k];
          return `${num(p?.recognizability, 2)}${p?.gap === null || p?.gap === undefined ? '' : ` (${p.gap >= 0 ? '+' : ''}${num(p.gap, 2)})`}`;
        }),
      ]),
    ),
    table(
      ['source', 'overall recognizability', 'N for gaps', 'Pearson r (recognizability, gap)', 'Spearman ρ', 'classes'],
      a.recognizability.map((r) => [r.source, num(r.overall), r.n === null ? '—' : String(r.n), num(r.correlation.pearson), num(r.correlation.spearman), String(r.correlation.n)]),
    ),
    paragraph('With 10 classes a correlation is a weak signal: |r| below about 0.63 is not significant at the 5% level.'),
    { kind: 'figure', file: RECOGNIZABILITY_FIGURE.file, alt: 'recognizability', raster: RECOGNIZABILITY_FIGURE.raster },
  ];
}

function paperContextSection(a: SweepAnalysis, dataset: string | null): Block[] {
  const realPaper = PAPER_FIGURE1_SLOPES[0]!.imagenet;
  const ratios = PAPER_FIGURE1_SLOPES.slice(1).map((r) => r.imagenet / realPaper);
  const range = a.sizes.length > 0 ? `${a.sizes[0]}–${a.sizes[a.sizes.length - 1]}` : '—';
  return [
    heading(2, 'Context: the paper\'s slopes (ImageNet, not comparable in absolute terms)'),
    paragraph(
      'Fan et al., "Scaling Laws of Synthetic Images for Model Training ... for Now" (CVPR 2024), Figure 1: the ' +
        '"scaling ability" (fitted power-law slope) of supervised classifiers trained on real ImageNet or on ' +
        'synthetic images, evaluated on ImageNet, ImageNet-Sketch and ImageNet-R. Values are read off the figure (±0.005).',
    ),
    table(
      ['paper source (ImageNet training)', 'ImageNet', 'ImageNet-Sketch', 'ImageNet-R'],
      PAPER_FIGURE1_SLOPES.map((r) => [r.source, r.imagenet.toFixed(3), r.sketch.toFixed(3), r.r.toFixed(3)]),
    ),
    paragraph(
      joinText(
        [
          md`**Caveat.** These are the paper's ImageNet numbers, not a target for this sweep. They come from ImageNet-scale `,
          'training (N ≈ 0.125M–4M images) with large vision models and Stable Diffusion / Imagen / Muse images; this ',
          md`sweep uses ${dataset ? md`\`${dataset}\`` : 'a different dataset'}, N = ${range}, `,
          'its own small classifier and its own generator, so absolute slopes are not comparable. The paper does not ' +
            'confirm whether its slopes are fitted to loss or to error (most likely loss vs N). At most the qualitative ' +
            `pattern transfers: on clean ImageNet the paper's synthetic/real slope ratio is about ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}, ` +
            'while out of distribution (Sketch, R) some synthetic configurations scale more steeply than real data. ' +
            'Prompt strategies beyond class names, CLIP templates and captions have no numbers in the paper.',
        ],
        '',
      ),
    ),
    paragraph(
      joinText(
        [
          md`**Measuring pitfall.**`,
          ' The cross-entropy on real test data of a model trained on synthetic images can rise with ' +
            'N even while its accuracy rises (it grows confident on the generator\'s clean modes and is confidently wrong on ' +
            'real images). This report therefore fits both loss and top-1 error, shows each fit\'s quality, reports ECE, and ' +
            'withholds the slope of any curve that is not monotone decreasing.',
        ],
        '',
      ),
    ),
  ];
}

function runSections(a: SweepAnalysis, meta: ReportMeta): Block[] {
  const out: Block[] = [];
  const curveWarnings = a.curves.flatMap((c) => c.warnings.map((w) => `${c.source} (${c.evalSet}): ${w}`));
  if (a.warnings.length > 0 || curveWarnings.length > 0) out.push(heading(2, 'Warnings'), list([...a.warnings, ...curveWarnings]));
  const timings = Object.entries(meta.stageTimings ?? {});
  if (timings.length > 0) {
    const total = timings.reduce((s, [, v]) => s + (Number.isFinite(v) ? v : 0), 0);
    out.push(heading(2, 'Stage timings'), table(['stage', 'wall time'], [...timings.map(([k, v]) => [k, duration(v)]), [md`**total**`, duration(total)]]));
  }
  if (meta.notes && meta.notes.length > 0) out.push(heading(2, 'Notes'), list(meta.notes));
  return out;
}

function figureSection(): Block[] {
  return [
    heading(2, 'Figure'),
    paragraph(
      'Log-log axes. Points: mean over seeds (slightly offset horizontally per source so error bars do not overlap); ' +
        'shaded bands and bars: 95% CI over seeds; dashed: fitted power law (omitted for curves flagged unreliable).',
    ),
    { kind: 'figure', file: SCALING_FIGURE.file, alt: 'scaling', raster: SCALING_FIGURE.raster },
  ];
}

function samplesSection({ sampleSheets: sheets = [], sampleProblems: problems = [] }: ReportExtras): Block[] {
  if (sheets.length === 0 && problems.length === 0) return [];
  const perClass = Math.max(0, ...sheets.map((s) => s.columns));
  return [
    heading(2, 'Samples'),
    ...(sheets.length > 0
      ? [
          paragraph(
            `The first ${perClass} images of each class in each source's manifest order (the images its classifiers train on first): ` +
              'one row per class, real images first, then each synthetic source with its CFG scale; 28x28 images scaled up without smoothing.',
          ),
          { kind: 'gallery', images: sheets.map((s) => ({ file: s.file, alt: s.caption })) } satisfies Block,
        ]
      : []),
    ...(problems.length > 0 ? [list(problems)] : []),
  ];
}

function specSection(spec: unknown): Block[] {
  if (spec === undefined) return [];
  return [{ kind: 'code', summary: 'Sweep spec', language: 'json', code: JSON.stringify(spec, null, 2) ?? 'null' }];
}

/** The whole report as one document, in reading order. */
export function reportDocument(a: SweepAnalysis, meta: ReportMeta, extras: ReportExtras = {}): Block[] {
  return [
    ...introSection(a, meta),
    ...headlineSection(a),
    // The chart right after the headline numbers: the first thing a reader of the page looks for.
    ...figureSection(),
    ...sourcesSection(a),
    ...resultsSection(a),
    ...fitsSection(a),
    ...comparisonSection(a),
    ...paperSections(a),
    ...samplesSection(extras),
    ...paperContextSection(a, specDataset(meta.spec)),
    ...runSections(a, meta),
    ...specSection(meta.spec),
  ];
}

/** Renders the analysis as JSON ({ meta, analysis }), Markdown, HTML, and the charts as SVG and PNG. */
export async function renderReport(analysis: SweepAnalysis, meta: ReportMeta, extras: ReportExtras = {}): Promise<RenderedReport> {
  const json = JSON.stringify({ meta, analysis }, null, 2);
  const svg = await renderChartSvg(analysis, meta.sweepId);
  const recognizabilitySvg = await renderRecognizabilitySvg(analysis);
  const [png, recognizabilityPng] = await Promise.all([rasterizeSvg(svg), recognizabilitySvg === null ? null : rasterizeSvg(recognizabilitySvg)]);
  const blocks = reportDocument(analysis, meta, extras);
  const figures = new Map<string, HtmlFigure>([[SCALING_FIGURE.file, { svg }]]);
  if (recognizabilitySvg !== null) figures.set(RECOGNIZABILITY_FIGURE.file, { svg: recognizabilitySvg });
  for (const sheet of extras.sampleSheets ?? []) figures.set(sheet.file, sheet.image);
  const html = toHtml(blocks, { title: `Scaling report: ${meta.sweepId}`, figures });
  return { json, markdown: toMarkdown(blocks), html, svg, png, recognizabilitySvg, recognizabilityPng };
}
